import Foundation
import XCTest
@testable import SwiftCaffe

final class MeanAndExportTests: XCTestCase {
    func testMeanFilesInBothFormats() throws {
        let proto = try MeanImage.read(path: Paths.fixture("weights/mean.binaryproto"))
        let npy = try MeanImage.read(path: Paths.fixture("weights/mean.npy"))
        XCTAssertEqual(proto, npy)
        XCTAssertEqual([proto.channels, proto.height, proto.width], [3, 6, 8])
        // numpy's float64 means of the same values (make_weight_fixtures.py prints them).
        for (a, e) in zip(proto.perChannel, [104.783, 118.138, 123.271]) { XCTAssertEqual(Double(a), e, accuracy: 5e-4) }
        let crop = try proto.centreCrop(height: 2, width: 4)
        XCTAssertEqual(crop.count, 3 * 2 * 4)
        XCTAssertEqual(crop[0], proto.values[2 * 8 + 2])  // row (6−2)/2, column (8−4)/2
        XCTAssertThrowsError(try proto.centreCrop(height: 7, width: 8))
        XCTAssertThrowsError(try MeanImage.read(path: Paths.fixture("weights/small.prototxt"))) { e in
            XCTAssertTrue("\(e)".hasSuffix("error: this is a text file (a prototxt?), not a binary BlobProto (.caffemodel/.binaryproto)"), "\(e)")
        }
        // A 3-D .npy is read as C×H×W; a 1-D one is refused.
        XCTAssertEqual(try MeanImage.read(path: Paths.fixture("npy/v2.npy")).channels, 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mean-\(UUID().uuidString).npy").path
        try NPY.write(NPY.Array(shape: [5], values: [1, 2, 3, 4, 5]), to: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try MeanImage.read(path: dir)) { e in
            XCTAssertEqual("\(e)", "\(dir): error: a mean image must be C×H×W or 1×C×H×W, this array is 5")
        }
    }

    func testCRC32AndNPZArchive() throws {
        XCTAssertEqual(NPZ.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.npz").path
        let arrays = [("conv1/0", NPY.Array(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])), ("conv1/1", NPY.Array(shape: [2], values: [7, 8]))]
        try NPZ.write(arrays, to: path)
        // Walk the local file headers: names, stored sizes, CRCs, and the .npy inside.
        let z = try readFile(path)
        func u32(_ o: Int) -> Int { Int(z[o]) | Int(z[o + 1]) << 8 | Int(z[o + 2]) << 16 | Int(z[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(z[o]) | Int(z[o + 1]) << 8 }
        var o = 0
        for (name, array) in arrays {
            XCTAssertEqual(u32(o), 0x0403_4B50)
            XCTAssertEqual(u16(o + 8), 0, "stored, not compressed")
            let size = u32(o + 18), nameLength = u16(o + 26)
            XCTAssertEqual(String(decoding: z[(o + 30)..<(o + 30 + nameLength)], as: UTF8.self), name + ".npy")
            let data = Array(z[(o + 30 + nameLength)..<(o + 30 + nameLength + size)])
            XCTAssertEqual(UInt32(u32(o + 14)), NPZ.crc32(data))
            XCTAssertEqual(try NPY.read(bytes: data, name: name), array)
            o += 30 + nameLength + size
        }
        XCTAssertEqual(u32(o), 0x0201_4B50, "central directory follows")
        XCTAssertEqual(u32(z.count - 22), 0x0605_4B50, "end of central directory")
    }

    func testExportTakesTheNetsShapesAndPyTorchNames() throws {
        let images = Paths.fixture("images")
        let model = try CaffeModel(path: "\(images)/tiny_v1.caffemodel")
        let stored = try WeightExport.arrays(model)
        XCTAssertEqual(stored.map(\.name), ["conv1/0", "conv1/1", "fc/0", "fc/1"])
        XCTAssertEqual(stored[2].array.shape, [1, 1, 6, 196], "V1 blobs as stored")
        let graph = try ModelFile.loadNet(path: "\(images)/tiny_classifier.prototxt").graph()
        let torch = try WeightExport.arrays(model, net: graph, names: .pytorch)
        XCTAssertEqual(torch.map(\.name), ["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"])
        XCTAssertEqual(torch.map(\.array.shape), [[4, 3, 3, 3], [4], [6, 196], [6]])
        XCTAssertEqual(torch.map(\.array.values), stored.map(\.array.values), "reshaped, not changed")

        // BatchNorm: PyTorch's running statistics are Caffe's divided by the stored factor.
        let text = net(input: [1, 2, 1, 1], """
            layer { name: "bn/1" type: "BatchNorm" bottom: "data" top: "bn" }
            """)
        let loaded = try ModelFile.loadNet(bytes: Array(text.utf8), file: "bn.prototxt")
        let n = try Net(graph: try loaded.graph())
        for (blob, values) in zip(n.layers[1].params, [[2, 4], [6, 8], [2]] as [[Float]]) { blob.set(values) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bn-\(UUID().uuidString).caffemodel").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CaffeModelWriter.write(n, to: path)
        let bn = try WeightExport.arrays(try CaffeModel(path: path), names: .pytorch)
        XCTAssertEqual(bn.map(\.name), ["bn_1.running_mean", "bn_1.running_var"])
        XCTAssertEqual(bn.map(\.array.values), [[1, 2], [3, 4]])

        // A net whose layer is another size is named with both shapes.
        let other = try ModelFile.loadNet(bytes: Array(String(contentsOfFile: "\(images)/tiny_classifier.prototxt", encoding: .utf8)
            .replacingOccurrences(of: "num_output: 6", with: "num_output: 5").utf8), file: "other.prototxt").graph()
        XCTAssertThrowsError(try WeightExport.arrays(model, net: other)) { e in
            XCTAssertTrue("\(e)".hasSuffix("error: layer 'fc' blob 0 holds 1176 values (1×1×6×196), the net's is 5×196 (980 values)"), "\(e)")
        }
    }
}
