import Foundation
import XCTest
@testable import SwiftCaffe

/// .caffemodel files made by Fixtures/weights/make_weight_fixtures.py (V2,
/// V1 with legacy shapes and double_data, unpacked floats) with OpenCV DNN's
/// output for them.
final class WeightsTests: XCTestCase {
    let prototxt = Paths.fixture("weights/small.prototxt")
    func file(_ f: String) -> String { Paths.fixture("weights/\(f).caffemodel") }

    private func net(_ text: String? = nil) throws -> Net {
        let loaded = text.map { try? ModelFile.loadNet(bytes: Array($0.utf8), file: "test.prototxt") } ?? (try? ModelFile.loadNet(path: prototxt))
        return try Net(graph: try NetGraph.build(try XCTUnwrap(loaded).net))
    }

    private var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func write(_ bytes: [UInt8], _ name: String = "w.caffemodel") throws -> String {
        let p = tmp.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testReadsEveryFormat() throws {
        let v2 = try CaffeModel(path: file("small_v2"))
        XCTAssertEqual(v2.format, .v2)
        XCTAssertEqual(v2.netName, "small")
        XCTAssertEqual(v2.layers.map(\.name), ["conv1", "ip1"])
        XCTAssertEqual(v2.layers[1].blobs.map(\.shape), [[5, 100], [5]])
        let v1 = try CaffeModel(path: file("small_v1"))
        XCTAssertEqual(v1.format, .v1)
        XCTAssertEqual(v1.layers.map(\.name), ["conv1", "relu1", "pool1", "ip1", "extra_fc"])
        XCTAssertEqual(v1.layers.map(\.type), ["Convolution", "ReLU", "Pooling", "InnerProduct", "InnerProduct"])
        XCTAssertEqual(v1.layers[3].blobs[0].legacy, [1, 1, 5, 100])
        let unpacked = try CaffeModel(path: file("small_unpacked"))
        for (a, b) in [(v2, v1), (v2, unpacked)] {
            for name in ["conv1", "ip1"] {
                let la = a.layers.first { $0.name == name }!, lb = b.layers.first { $0.name == name }!
                XCTAssertEqual(la.blobs.map(\.values), lb.blobs.map(\.values), name)  // double_data converts exactly
            }
        }
    }

    func testForwardWithEachFileMatchesOpenCV() throws {
        let expected = try NPY.read(path: Paths.fixture("weights/small.prob.npy"))
        for f in ["small_v2", "small_v1", "small_unpacked"] {
            let n = try net()
            let report = try WeightCopier.copy(try CaffeModel(path: file(f)), into: n)
            XCTAssertEqual(report.copied, ["conv1", "ip1"], f)
            XCTAssertEqual(report.skipped, f == "small_v1" ? ["extra_fc"] : [], f)
            n.blob("data")!.set(FormulaParameters.values(288, salt: 0, scale: 1))
            try n.forward()
            let worst = zip(n.blob("prob")!.values, expected.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-4, f)
        }
    }

    func testMissingLayersKeepFillersAndReinit() throws {
        let text = try String(contentsOfFile: prototxt, encoding: .utf8)
            .replacingOccurrences(of: "layer { name: \"prob\"", with: """
                layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 3 bias_filler { type: "constant" value: 7 } } }
                layer { name: "prob"
                """)
            .replacingOccurrences(of: "bottom: \"ip1\" top: \"prob\"", with: "bottom: \"ip2\" top: \"prob\"")
        let n = try net(text)
        let report = try WeightCopier.copy(try CaffeModel(path: file("small_v2")), into: n, reinit: ["conv1"])
        XCTAssertEqual(report.copied, ["ip1"])
        XCTAssertEqual(report.missing, ["ip2"])
        XCTAssertEqual(report.reinitialised, ["conv1"])
        XCTAssertEqual(n.layers.first { $0.name == "ip2" }!.params[1].values, [7, 7, 7])
        XCTAssertEqual(n.layers.first { $0.name == "conv1" }!.params[0].values, Array(repeating: 0, count: 36))  // default filler
        XCTAssertTrue(report.table.split(separator: "\n").contains { $0.hasPrefix("ip2 ") && $0.hasSuffix("from fillers (not in the file)") },
                      report.table)
        XCTAssertThrowsError(try WeightCopier.copy(try CaffeModel(path: file("small_v2")), into: n, reinit: ["conv9"])) { e in
            XCTAssertEqual((e as? CaffeError)?.diagnostics.first?.message, "--reinit names layer 'conv9', which the net does not have")
        }
    }

    func testReducedAlexNetWithV1WeightsMatchesOpenCV() throws {
        let loaded = try ModelFile.loadNet(path: Paths.fixture("weights/alexnet_reduced.prototxt"))
        let n = try Net(graph: try NetGraph.build(loaded.net))
        let model = try CaffeModel(path: file("alexnet_reduced_v1"))
        XCTAssertEqual(model.format, .v1)
        let report = try WeightCopier.copy(model, into: n)
        XCTAssertEqual(report.copied, ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"])
        XCTAssertTrue(report.isClean)
        n.blob("data")!.set(FormulaParameters.values(2 * 3 * 227 * 227, salt: 0, scale: 100))
        try n.forward()
        for blob in ["fc8", "prob"] {
            let expected = try NPY.read(path: Paths.fixture("weights/alexnet_reduced.\(blob).npy"))
            let scale = expected.values.map { abs($0) }.max()!
            XCTAssertLessThanOrEqual(zip(n.blob(blob)!.values, expected.values).map { abs($0 - $1) }.max()!, 1e-4 * scale, blob)
        }
    }

    func testWeightsOfAnotherNet() throws {
        let n = try net(SwiftCaffeTests.net(input: [1, 8], """
            layer { name: "enc" type: "InnerProduct" bottom: "data" top: "enc" inner_product_param { num_output: 3 } }
            layer { name: "dec" type: "InnerProduct" bottom: "enc" top: "dec" inner_product_param { num_output: 8 } }
            """))
        XCTAssertThrowsError(try WeightCopier.copy(try CaffeModel(path: file("small_v2")), into: n)) { e in
            XCTAssertEqual("\(e)", "\(file("small_v2")): error: none of its 2 layers with weights (conv1, ip1) is a layer of the net (enc, dec): "
                           + "the weights of another net?")
        }
    }

    func testMismatchesNameLayerBlobAndShapes() throws {
        let wider = try String(contentsOfFile: prototxt, encoding: .utf8).replacingOccurrences(of: "num_output: 5", with: "num_output: 6")
        for (f, found) in [("small_v2", "5×100"), ("small_v1", "1×1×5×100")] {
            let ds = diagnostics { try WeightCopier.copy(try CaffeModel(path: self.file(f)), into: try self.net(wider)) }
            let bias = f == "small_v2" ? "5" : "1×1×1×5"
            XCTAssertEqual(ds.map(\.message), ["layer 'ip1' (InnerProduct): blob 0 has shape 6×100 in the net, \(found) in \(file(f))",
                                               "layer 'ip1' (InnerProduct): blob 1 has shape 6 in the net, \(bias) in \(file(f))"])
            XCTAssertEqual(ds.first?.location?.line, 6)
        }
        let noBias = try String(contentsOfFile: prototxt, encoding: .utf8).replacingOccurrences(of: "num_output: 5", with: "num_output: 5 bias_term: false")
        let ds = diagnostics { try WeightCopier.copy(try CaffeModel(path: self.file("small_v2")), into: try self.net(noBias)) }
        XCTAssertEqual(ds.map(\.message), ["layer 'ip1' (InnerProduct): the net has 1 parameter blob(s), \(file("small_v2")) has 2 for it"])
    }

    private func readError(_ bytes: [UInt8], name: String = "w.caffemodel") throws -> String {
        let p = try write(bytes, name)
        do {
            _ = try CaffeModel(path: p)
        } catch let e as CaffeError {
            return e.description.replacingOccurrences(of: p, with: "FILE")
        }
        XCTFail("no error for \(name)")
        return ""
    }

    func testBadFilesSayWhatIsWrong() throws {
        let good = try readFile(file("small_v2"))
        // Cut inside the second layer (ip1 starts at byte 214 and holds 2060 bytes).
        XCTAssertEqual(try readError(Array(good.prefix(1000))),
                       "FILE: error: byte 214, in NetParameter: field 'layer' says it holds 2060 bytes but the file ends at byte 1000; "
                       + "it should be at least 2278 bytes long (truncated)")
        XCTAssertEqual(try readError([]), "FILE: error: file is empty")
        XCTAssertEqual(try readError(try readFile(prototxt)), "FILE: error: this is a text file (a prototxt?), not a binary NetParameter (.caffemodel/.binaryproto)")
        XCTAssertEqual(try readError([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]), "FILE: error: this is a JPEG image, not a binary NetParameter (.caffemodel/.binaryproto)")
        XCTAssertEqual(try readError(try readFile(Paths.fixture("npy/f4.npy"))), "FILE: error: this is a NumPy .npy file, not a binary NetParameter (.caffemodel/.binaryproto)")
        // A hostile length: field 'layer' claiming 2^40 bytes.
        XCTAssertEqual(try readError([0xA2, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x0A]),
                       "FILE: error: byte 0, in NetParameter: field 'layer' says it holds 1099511627776 bytes but the file ends at byte 9; "
                       + "it should be at least 1099511627784 bytes long (truncated)")
        // A blob inside a layer claiming more than the layer holds (a name field follows the layer).
        XCTAssertEqual(try readError([0xA2, 0x06, 0x04, 0x3A, 0x08, 0x2A, 0x00, 0x0A, 0x01, 0x78]),
                       "FILE: error: byte 3, in NetParameter.layer: field 'blobs' says it holds 8 bytes but its message has only 2 left (corrupt length)")
        XCTAssertEqual(try readError([0x0F, 0x01]),
                       "FILE: error: byte 0, in NetParameter: wire type 7 is not used by Caffe's files: this is not a NetParameter protobuf")
        XCTAssertEqual(try CLIProbe.missing(), "no such file")
    }

    func testFuzzedWeightFilesNeverCrash() throws {
        let seeds = try ["small_v2", "small_v1", "small_unpacked"].map { try readFile(file($0)) }
        var r = FuzzTests.Random(state: 0xCAFE_F00D)
        let cases = min(600, (Int(ProcessInfo.processInfo.environment["FUZZ_CASES"] ?? "") ?? 3000) / 5)
        var rejected = 0
        for i in 0..<cases {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + r.below(3)) {
                let at = r.below(b.count)
                switch r.below(3) {
                case 0: b[at] = UInt8(truncatingIfNeeded: r.next())
                case 1: b.removeSubrange(at..<min(b.count, at + r.below(64)))
                default: b.insert(UInt8(truncatingIfNeeded: r.next()), at: at)
                }
                if b.isEmpty { break }
            }
            let p = try write(b, "fuzz.caffemodel")
            do {
                let n = try net()
                _ = try WeightCopier.copy(try CaffeModel(path: p), into: n)
                try n.forward()
            } catch let e as CaffeError {
                rejected += 1
                XCTAssertFalse(e.description.isEmpty)
            }
        }
        XCTAssertGreaterThan(rejected, 0)
    }
}

extension WeightsTests {
    func testSHA1KnownVectorsAndPublishedModels() throws {
        func sha(_ s: String) -> String { Array(s.utf8).withUnsafeBytes { SHA1.hex($0) } }
        XCTAssertEqual(sha(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(sha("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        XCTAssertEqual(sha(String(repeating: "a", count: 1_000_000)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // Python's hashlib on the fixture file.
        let model = try CaffeModel(path: file("small_v1"))
        XCTAssertEqual(model.sha1, "e3b3c6cf0eced413cb4995b7eecadd7d19f2a2bb")
        XCTAssertNil(model.knownModel)
        XCTAssertEqual(CaffeModel.published["9116a64c0fbe4459d18f4bb6b56d647b63920377"], "BVLC AlexNet (bvlc_alexnet.caffemodel)")
    }

    func testWrittenWeightsReloadAndAreWhatOpenCVRead() throws {
        let n = try net()
        _ = try WeightCopier.copy(try CaffeModel(path: file("small_v1")), into: n)
        let out = tmp.appendingPathComponent("saved.caffemodel").path
        try CaffeModelWriter.write(n, to: out)
        // Byte-identical to the file the fixture script showed OpenCV reading alike.
        XCTAssertEqual(try readFile(out), try readFile(file("small_written")))
        let again = try CaffeModel(path: out)
        XCTAssertEqual(again.format, .v2)
        let m = try net()
        XCTAssertEqual(try WeightCopier.copy(again, into: m).copied, ["conv1", "ip1"])
        for (a, b) in zip(n.learnableParams, m.learnableParams) { XCTAssertEqual(a.values, b.values) }
    }

    func testUpgradingV1WeightsKeepsEveryBlob() throws {
        let old = try CaffeModel(path: file("small_v1"))
        let out = tmp.appendingPathComponent("v2.caffemodel").path
        try CaffeModelWriter.upgrade(old, to: out)
        let new = try CaffeModel(path: out)
        XCTAssertEqual(new.format, .v2)
        XCTAssertEqual(new.layers.map(\.name), old.layers.map(\.name))
        XCTAssertEqual(new.layers.map(\.type), ["Convolution", "ReLU", "Pooling", "InnerProduct", "InnerProduct"])
        for (a, b) in zip(old.layers, new.layers) {
            XCTAssertEqual(a.blobs.map(\.values), b.blobs.map(\.values), a.name)
            XCTAssertEqual(a.blobs.map(\.legacy), b.blobs.map(\.legacy), a.name)
        }
        let n = try net()
        _ = try WeightCopier.copy(new, into: n)
        n.blob("data")!.set(FormulaParameters.values(288, salt: 0, scale: 1))
        try n.forward()
        let expected = try NPY.read(path: Paths.fixture("weights/small.prob.npy"))
        XCTAssertLessThanOrEqual(zip(n.blob("prob")!.values, expected.values).map { abs($0 - $1) }.max()!, 1e-4)
    }
}

/// The error for a file that does not exist.
enum CLIProbe {
    static func missing() throws -> String {
        do { _ = try CaffeModel(path: "/nonexistent/w.caffemodel") } catch let e as CaffeError {
            if case .io(_, let reason) = e { return reason }
        }
        return ""
    }
}

extension WeightsTests {
    /// PReLU's channel-shared slope is a blob of 0 axes in Caffe (Reshape(vector<int>(0))):
    /// its BlobProto has an empty `shape` and one value. Read that, and write it back the same.
    func testSharedPReLUSlopeHasNoAxesAsInCaffe() throws {
        let quarter: [UInt8] = [0x00, 0x00, 0x80, 0x3E]  // 0.25f, little-endian
        let blob: [UInt8] = [0x3A, 0x00, 0x2A, 0x04] + quarter  // shape {} ; data (packed) [0.25]
        let layer: [UInt8] = [0x0A, 0x02] + Array("pr".utf8) + [0x12, 0x05] + Array("PReLU".utf8) + [0x3A, UInt8(blob.count)] + blob
        let caffeFile = try write([0xA2, 0x06, UInt8(layer.count)] + layer, "caffe_prelu.caffemodel")
        let text = SwiftCaffeTests.net(input: [1, 2, 1, 2], "layer { name: \"pr\" type: \"PReLU\" bottom: \"data\" top: \"y\" prelu_param { channel_shared: true } }")
        func run(_ weights: String) throws -> [Float] {
            let n = try Net(graph: try buildNet(text))
            XCTAssertEqual(n.layers[1].params[0].shape, [], "Caffe's blob of 0 axes")
            XCTAssertEqual(try WeightCopier.copy(try CaffeModel(path: weights), into: n).copied, ["pr"])
            n.blob("data")!.set([-4, 2, -8, 1])
            try n.forward()
            return n.blob("y")!.values
        }
        XCTAssertEqual(try run(caffeFile), [-1, 2, -2, 1])
        // Written as Caffe writes it: an empty shape message, no legacy fields.
        let n = try Net(graph: try buildNet(text))
        _ = try WeightCopier.copy(try CaffeModel(path: caffeFile), into: n)
        let out = tmp.appendingPathComponent("written.caffemodel").path
        try CaffeModelWriter.write(n, to: out)
        let stored = try XCTUnwrap(try CaffeModel(path: out).layers.first { $0.name == "pr" }?.blobs.first)
        XCTAssertEqual(stored.shape, [])
        XCTAssertNil(stored.legacy)
        // Fields in number order, as Caffe's C++ protobuf writes them: data (5), then the empty shape (7).
        let caffeOrder: [UInt8] = [0x2A, 0x04] + quarter + [0x3A, 0x00]
        XCTAssertTrue(try readFile(out).windows(ofCount: 8).contains { Array($0) == caffeOrder }, "the blob's bytes are Caffe's")
        // Also read: legacy 1×1×1×1 (Caffe's ShapeEquals accepts it) and SwiftCaffe's earlier shape [1].
        let legacy: [UInt8] = [0x08, 0x01, 0x10, 0x01, 0x18, 0x01, 0x20, 0x01, 0x2A, 0x04] + quarter
        let one: [UInt8] = [0x3A, 0x02, 0x08, 0x01, 0x2A, 0x04] + quarter
        for (i, b) in [legacy, one].enumerated() {
            let l: [UInt8] = [0x0A, 0x02] + Array("pr".utf8) + [0x12, 0x05] + Array("PReLU".utf8) + [0x3A, UInt8(b.count)] + b
            XCTAssertEqual(try run(try write([0xA2, 0x06, UInt8(l.count)] + l, "variant\(i).caffemodel")), [-1, 2, -2, 1])
        }
    }
}

extension WeightsTests {
    /// cv2.dnn.shrinkCaffeModel's half-precision file (Fixtures/weights/make_fp16_fixtures.py).
    func testHalfPrecisionWeightsFromOpenCV() throws {
        let half = try CaffeModel(path: Paths.fixture("weights/tiny_fp16.caffemodel"))
        let full = try CaffeModel(path: Paths.fixture("images/tiny.caffemodel"))
        XCTAssertTrue(half.layers.flatMap(\.blobs).allSatisfy(\.isHalf))
        for (h, f) in zip(half.layers.flatMap(\.blobs), full.layers.flatMap(\.blobs)) {
            XCTAssertEqual(h.count, f.count)
            // Each value is its float32 rounded to the nearest float16.
            XCTAssertEqual(h.values, f.values.map { Float(Float16($0)) })
        }
        // The net with those weights gives OpenCV DNN's output on the same file.
        let net = try Net(prototxt: Paths.fixture("images/tiny_classifier.prototxt"), weights: Paths.fixture("weights/tiny_fp16.caffemodel"),
                          inputShapes: ["data": [2, 3, 16, 16]])
        let prob = try XCTUnwrap(try net.forward(["data": try NPY.read(path: Paths.fixture("weights/tiny_fp16.input.npy")).values])["prob"])
        let expected = try NPY.read(path: Paths.fixture("weights/tiny_fp16.prob.npy")).values
        XCTAssertEqual(prob.count, expected.count)
        XCTAssertLessThanOrEqual(zip(prob, expected).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        // An odd number of FLOAT16 bytes is refused, naming the layer and blob.
        let odd = Paths.fixture("weights/tiny_fp16_odd.caffemodel")
        XCTAssertThrowsError(try CaffeModel(path: odd)) { e in
            XCTAssertEqual("\(e)", "\(odd): error: layer 'conv1' blob 0 has 215 bytes of FLOAT16 raw_data, not a whole number of 2-byte values")
        }
    }

    /// SegNet's weights carry upsample_param at 137, BVLC's embed_param,
    /// whose field 4 is a message where SegNet's pad_out_h is a bool: the
    /// layer is still read (name, type, blobs), the field reported.
    func testForkParameterUnderABVLCNumberIsSkipped() throws {
        func field(_ number: UInt64, _ wire: UInt64, _ payload: [UInt8]) -> [UInt8] {
            HostileInputTests.varint(number << 3 | wire) + (wire == 2 ? HostileInputTests.varint(UInt64(payload.count)) : []) + payload
        }
        func string(_ number: UInt64, _ s: String) -> [UInt8] { field(number, 2, Array(s.utf8)) }
        let upsample = field(137, 2, field(1, 0, [2]) + field(4, 0, [1]))
        let weight: [Float] = [0.5, -2]
        // A 2×1×1×1 weight blob: shape (7) dims, packed data (5).
        let shape = field(7, 2, [2, 1, 1, 1].flatMap { field(1, 0, [UInt8($0)]) })
        let blob = field(7, 2, shape + field(5, 2, weight.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
        let conv = field(100, 2, string(1, "conv") + string(2, "Convolution") + blob)
        let bytes = conv + field(100, 2, string(1, "up") + string(2, "Upsample") + upsample)
        let path = try write(bytes, "segnet.caffemodel")
        let model = try CaffeModel(path: path)
        XCTAssertEqual(model.layers.map(\.name), ["conv", "up"])
        XCTAssertEqual(model.layers[0].blobs.first?.values, weight)
        XCTAssertEqual(model.undecodedParameters, ["layer 'up': field 137 at byte \(conv.count + 3 + 4 + 10) does not decode as Caffe's embed_param "
                                                    + "(a fork's parameter under that number?); skipped, as weights need only names, types and blobs"])
        // The digest is the file's, not of the renumbered copy; the file is unchanged.
        XCTAssertEqual(model.sha1, bytes.withUnsafeBytes { SHA1.hex($0) })
        XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: path))), bytes)
        // forward --verbose says so; the weights are copied.
        let proto = try write(Array(SwiftCaffeTests.net(input: [1, 1, 2, 2], """
            layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
            layer { name: "up" type: "Upsample" bottom: "c" top: "y" upsample_param { scale: 2 } }
            """).utf8), "segnet.prototxt")
        let r = try CLITests.run(["forward", "--model", proto, "--weights", path, "--verbose", "--output-dir", tmp.appendingPathComponent("out").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("segnet.caffemodel: layer 'up': field 137 at byte"), r.stderr)
    }

    /// upgrade --to-fp16 writes what cv2.dnn.shrinkCaffeModel writes, byte
    /// for byte; --to-fp32 brings it back as the float16-rounded values.
    func testUpgradeToFloat16AndBack() throws {
        let full = Paths.fixture("images/tiny.caffemodel"), half = tmp.appendingPathComponent("h.caffemodel").path
        let back = tmp.appendingPathComponent("f.caffemodel").path
        let r = try CLITests.run(["upgrade", full, "-o", half, "--to-fp16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("float32 → float16 values, 5,273 → 2,693 bytes"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: half)), try Data(contentsOf: URL(fileURLWithPath: Paths.fixture("weights/tiny_fp16.caffemodel"))),
                       "the same bytes as OpenCV's shrinkCaffeModel")
        XCTAssertEqual(try CLITests.run(["upgrade", half, "-o", back, "--to-fp32"]).status, 0)
        let restored = try CaffeModel(path: back), original = try CaffeModel(path: full)
        XCTAssertFalse(restored.layers.flatMap(\.blobs).contains(where: \.isHalf))
        for (a, b) in zip(restored.layers.flatMap(\.blobs), original.layers.flatMap(\.blobs)) {
            XCTAssertEqual(a.values, b.values.map { Float(Float16($0)) })
        }
        // A value float16 cannot hold is refused, naming it; nothing is written.
        let big = tmp.appendingPathComponent("big.caffemodel").path
        let net = try Net(graph: try buildNet(SwiftCaffeTests.net(input: [1, 2], """
            layer { name: "ip" type: "InnerProduct" bottom: "data" top: "y" inner_product_param { num_output: 1 } }
            """)))
        net.layers[1].params[0].set([1, 70000])
        try CaffeModelWriter.write(net, to: big)
        let refused = try CLITests.run(["upgrade", big, "-o", tmp.appendingPathComponent("x.caffemodel").path, "--to-fp16"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("layer 'ip' blob 0 holds 70000.0 at index 1, beyond float16's range (±65504): it cannot be stored as FLOAT16"),
                      refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("x.caffemodel").path))
        let text = try CLITests.run(["upgrade", Paths.model("lenet/deploy.prototxt"), "--to-fp16"])
        XCTAssertEqual(text.status, 2)
        XCTAssertTrue(text.stderr.contains("--to-fp16 and --to-fp32 apply to weights (.caffemodel)"), text.stderr)
    }
}

private extension Array {
    func windows(ofCount n: Int) -> [ArraySlice<Element>] {
        count < n ? [] : (0...(count - n)).map { self[$0..<($0 + n)] }
    }
}
