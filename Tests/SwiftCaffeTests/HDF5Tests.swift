import Foundation
import XCTest
@testable import SwiftCaffe

/// BVLC's HDF5Data and HDF5Output on files h5py wrote (Fixtures/hdf5,
/// make_hdf5_fixtures.py: data[i, c, x] = 100i + 10c + x, label[i] = i as
/// float64, id[i] = 1000 + i as int32; train_a.h5 holds rows 0-4,
/// train_b.h5 rows 5-7).
final class HDF5Tests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-hdf5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    static func value(_ i: Int, _ c: Int, _ x: Int) -> Float { Float(100 * i + 10 * c + x) }

    func list(_ files: [String], name: String = "list.txt") throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try files.map { $0.hasPrefix("/") ? $0 : Paths.fixture("hdf5/\($0)") }.joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func hdf5Net(source: String, batch: Int, tops: [String] = ["data", "label"], shuffle: Bool = false, extra: String = "") throws -> Net {
        let text = """
        name: "h"
        layer { name: "h5" type: "HDF5Data" \(tops.map { "top: \"\($0)\"" }.joined(separator: " "))
                hdf5_data_param { source: "\(source)" batch_size: \(batch) shuffle: \(shuffle) } }
        \(extra)
        """
        let loaded = try ModelFile.loadNet(bytes: Array(text.utf8), file: "h.prototxt")
        return try Net(graph: try loaded.graph(.init(state: NetState(phase: .train))))
    }

    func testRowsComeFileByFileInOrderAndWrap() throws {
        let net = try hdf5Net(source: try list(["train_a.h5", "train_b.h5"]), batch: 3, tops: ["data", "label", "id"])
        XCTAssertEqual(net.blob("data")!.shape, [3, 2, 3], "batch, then a row's shape in the file")
        XCTAssertEqual(net.blob("label")!.shape, [3])
        // 8 rows in all: batches 0-2, 3-5, 6-7 and 0 (wrapped), 1-3.
        for first in [0, 3, 6, 9] {
            try net.forward()
            for j in 0..<3 {
                let i = (first + j) % 8
                XCTAssertEqual(net.blob("label")!.data[j], Float(i), "float64 read as float")
                XCTAssertEqual(net.blob("id")!.data[j], Float(1000 + i), "int32 read as float")
                XCTAssertEqual(net.blob("data")!.data[j * 6 + 1 * 3 + 2], Self.value(i, 1, 2), "row \(i)")
            }
        }
    }

    func testShuffleVisitsEveryRowOncePerPassReproducibly() throws {
        let source = try list(["train_a.h5", "train_b.h5"])
        func labels(_ net: Net, batches: Int) throws -> [Int] {
            try (0..<batches).flatMap { _ -> [Int] in
                try net.forward()
                return net.blob("label")!.values.map { Int($0) }
            }
        }
        let a = try labels(try hdf5Net(source: source, batch: 4, shuffle: true), batches: 4)
        let b = try labels(try hdf5Net(source: source, batch: 4, shuffle: true), batches: 4)
        XCTAssertEqual(a, b, "the layer's seed decides the order")
        XCTAssertEqual(a.prefix(8).sorted(), Array(0..<8), "a pass holds every row once")
        XCTAssertEqual(a.suffix(8).sorted(), Array(0..<8))
        XCTAssertNotEqual(a.prefix(8).map { $0 }, Array(0..<8), "shuffled")
        // Files are shuffled whole: a file's rows stay together within a pass.
        let firstFile = a[0] < 5 ? 0..<5 : 5..<8
        XCTAssertTrue(a.prefix(firstFile.count).allSatisfy(firstFile.contains), "\(a)")
    }

    func testDataParallelRanksShareTheStream() throws {
        let source = try list(["train_a.h5", "train_b.h5"])
        let one = try hdf5Net(source: source, batch: 4)
        try one.forward()
        let ranks = try (0..<2).map { r -> [Float] in
            let n = try hdf5Net(source: source, batch: 2)
            for l in n.dataStreams { l.shard(rank: r, of: 2) }
            try n.forward()
            return n.blob("label")!.values
        }
        XCTAssertEqual(ranks[0], [0, 2])
        XCTAssertEqual(ranks[1], [1, 3])
        XCTAssertEqual(Set(ranks.flatMap { $0 }), Set(one.blob("label")!.values), "2 ranks × 2 rows = 1 process × 4 rows")
        // A resumed layer continues at its batch.
        let resumed = try hdf5Net(source: source, batch: 4)
        resumed.dataStreams[0].restart(atBatch: 1)
        try resumed.forward()
        XCTAssertEqual(resumed.blob("label")!.values, [4, 5, 6, 7])
    }

    func testBadFilesAreNamedWithWhatIsWrong() throws {
        func error(_ files: [String], tops: [String] = ["data", "label"]) -> String {
            do {
                _ = try hdf5Net(source: try list(files), batch: 2, tops: tops)
                return "no error"
            } catch { return "\(error)" }
        }
        let listPath = tmp.appendingPathComponent("list.txt").path
        XCTAssertTrue(error(["train_a.h5"], tops: ["data", "labels"]).contains(
            "\(Paths.fixture("hdf5/train_a.h5")): error: has no dataset named 'labels' (its root holds 'data', 'id', 'label') "
            + "(listed in \(listPath):1; HDF5Data reads one dataset per top, by the top's name)"), error(["train_a.h5"], tops: ["data", "labels"]))
        XCTAssertTrue(error(["train_a.h5", "wide.h5"]).contains(
            "dataset 'data' has rows of 3×3, the first file \(Paths.fixture("hdf5/train_a.h5")) has 2×3; a top's rows must have one shape in every file"))
        XCTAssertTrue(error(["text.h5"]).contains(
            "dataset 'data' holds string values; Caffe's HDF5 layers read floating-point or integer datasets"))
        XCTAssertTrue(error(["uneven.h5"]).contains("dataset 'label' has 3 rows, 'data' has 4; every top's dataset needs the same count"))
        XCTAssertTrue(error(["train_a.h5", "missing.h5"]).contains(
            "\(listPath):2: error: \(Paths.fixture("hdf5/missing.h5")): no such file"), error(["train_a.h5", "missing.h5"]))
        let notHDF5 = error([Paths.fixture("hdf5/make_hdf5_fixtures.py")])
        XCTAssertTrue(notHDF5.contains("\(listPath):1: error: \(Paths.fixture("hdf5/make_hdf5_fixtures.py")): is not an HDF5 file"), notHDF5)
        XCTAssertTrue(error([]).contains("lists no HDF5 files"))
        try "\(Paths.fixture("hdf5/train_a.h5"))  not/here.h5\n".write(toFile: listPath, atomically: true, encoding: .utf8)
        let relative = diagnostics({ try self.hdf5Net(source: listPath, batch: 2) }).first?.message ?? ""
        XCTAssertTrue(relative.hasSuffix("\(listPath):1: error: not/here.h5: no such file (relative paths are from the current folder, as in Caffe)"), relative)
        let missingList = diagnostics({ try self.hdf5Net(source: self.tmp.appendingPathComponent("nope.txt").path, batch: 2) })
        XCTAssertTrue(missingList.first?.message.contains("cannot read the HDF5 file list (HDF5Data's source): no such file") == true, "\(missingList)")
    }

    func testShapesReachTheGraphAndSummary() throws {
        let text = """
        layer { name: "h5" type: "HDF5Data" top: "data" top: "label" hdf5_data_param { source: "\(try list(["train_a.h5"]))" batch_size: 4 } }
        layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
        layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "ip" top: "loss" }
        """
        let g = try ModelFile.loadNet(bytes: Array(text.utf8), file: "h.prototxt").graph(.init(state: NetState(phase: .train)))
        XCTAssertEqual(g.layers[1].topShapes[0], [4, 2], "InnerProduct planned from the file's 2×3 rows")
        XCTAssertEqual(g.layers[1].paramShapes?.first, [2, 6])
    }

    func testOutputAppendsEveryBatchInCaffesFourAxes() throws {
        let out = tmp.appendingPathComponent("features.h5").path
        try "an older file".write(toFile: out, atomically: true, encoding: .utf8)
        let net = try hdf5Net(source: try list(["train_a.h5", "train_b.h5"]), batch: 3, extra: """
            layer { name: "out" type: "HDF5Output" bottom: "data" bottom: "label" hdf5_output_param { file_name: "\(out)" } }
            """)
        try net.forward()
        try net.forward()
        let f = try HDF5File.open(out)
        let (dataShape, data) = try f.read("data")
        let (labelShape, label) = try f.read("label")
        XCTAssertEqual(dataShape, [6, 2, 3, 1], "Caffe's num × channels × height × width")
        XCTAssertEqual(labelShape, [6, 1, 1, 1])
        XCTAssertEqual(label, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(data[4 * 6 + 5], Self.value(4, 1, 2))
        try f.close()
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testOutputRefusesAFolderAndMismatchedCounts() throws {
        let source = try list(["train_a.h5"])
        XCTAssertThrowsError(try hdf5Net(source: source, batch: 2, extra: """
            layer { name: "out" type: "HDF5Output" bottom: "data" bottom: "label" hdf5_output_param { file_name: "\(tmp.path)" } }
            """)) { XCTAssertEqual("\($0)", "\(self.tmp.path): error: is a directory; an output must be a file, a character device or a pipe") }
        let text = """
        layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } shape { dim: 3 } } }
        layer { name: "out" type: "HDF5Output" bottom: "a" bottom: "b" hdf5_output_param { file_name: "x.h5" } }
        """
        let counts = diagnostics({ try buildNet(text) })
        XCTAssertTrue(counts.first?.message.contains("data and label need the same count along axis 0, found 2×3 and 3") == true, "\(counts)")
        let noName = diagnostics({ try buildNet("""
            layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }
            layer { name: "out" type: "HDF5Output" bottom: "a" bottom: "b" }
            """) })
        XCTAssertTrue(noName.first?.message.contains("hdf5_output_param needs a file_name to write") == true, "\(noName)")
    }
}
