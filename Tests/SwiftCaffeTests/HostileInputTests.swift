import Foundation
import XCTest
@testable import SwiftCaffe

/// Broken and hostile files through the CLI, as a user or an unattended
/// pipeline runs it: every one ends in exit 1 (2 for usage) and a message
/// naming the file and what was expected, never a signal or a trap.
final class HostileInputTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    @discardableResult
    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        try Data(bytes).write(to: tmp.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    func write(_ text: String, _ name: String) throws -> String { try write(Array(text.utf8), name) }

    /// Runs swiftcaffe and checks the exit status and that stderr holds every expected piece.
    @discardableResult
    func expect(_ args: [String], status: Int32, _ pieces: [String], environment: [String: String] = [:],
                file: StaticString = #filePath, line: UInt = #line) throws -> CLITests.Run {
        let r = try CLITests.run(args, environment: environment)
        XCTAssertEqual(r.status, status, "\(args)\n\(r.stderr)", file: file, line: line)
        for p in pieces { XCTAssertTrue(r.stderr.contains(p), "missing '\(p)' in\n\(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Backtrac") || r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
        return r
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            let b = UInt8(v & 0x7F)
            v >>= 7
            out.append(v == 0 ? b : b | 0x80)
        } while v != 0
        return out
    }

    static let lenet = "Models/lenet/deploy.prototxt"

    func testLengthsNearTwoToThe64InEveryBinaryReader() throws {
        // Field 1 of each message, length-delimited, claiming 2^64 − 5 bytes.
        let huge = [0x0A] + Self.varint(UInt64.max - 4) + Array("abc".utf8)
        let model = try write(huge, "huge.caffemodel")
        let mean = try write([0x2A] + Self.varint(UInt64.max - 4) + [1, 2], "huge.binaryproto")
        let state = try write([0x12] + Self.varint(UInt64.max - 4) + [1, 2], "huge.solverstate")
        let says = "more than any file can: the file is corrupt or not protobuf data"
        try expect(["forward", "--model", Self.lenet, "--weights", model, "--output-dir", path("o")], status: 1, ["huge.caffemodel: error: byte 0", says])
        try expect(["export-weights", model, "-o", path("w.npz")], status: 1, [says])
        try expect(["mean", mean], status: 1, ["huge.binaryproto: error: byte 0, in BlobProto: field 'data'", says])
        let solver = try write("net: \"\(Paths.model("lenet/train_val.prototxt"))\" base_lr: 0.01 max_iter: 10 lr_policy: \"fixed\"", "s.prototxt")
        try expect(["train", "--solver", solver, "--snapshot", state], status: 1, ["huge.solverstate: error: byte 0", says])
        try expect(["train", "--solver", solver, "--weights", model], status: 1, ["huge.caffemodel: error: byte 0", says])
        try expect(["test", "--model", Paths.model("lenet/train_val.prototxt"), "--weights", model], status: 1, [says])
    }

    func testHeadersThatAskForMoreThanAFileHolds() throws {
        // An .npy whose shape multiplies past 2^63.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
        header += String(repeating: " ", count: 118 - header.count) + "\n"
        let npy = try write([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8), "overflow.npy")
        try expect(["forward", "--model", Self.lenet, "--input", "data=\(npy)", "--output-dir", path("o")], status: 1,
                   ["overflow.npy: error: shape 4611686018427387904×4 holds more values than SwiftCaffe's limit"])
        // An IDX file of 2^31−1 images of 2^31−1 × 2^31−1 pixels, 16 bytes long.
        let big: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF]
        try write([0, 0, 8, 3] + big + big + big, "huge-images-idx3-ubyte")
        try write([0, 0, 8, 1] + big, "huge-labels-idx1-ubyte")
        for args in [["convert-idx", path("huge-images-idx3-ubyte"), path("db")],
                     ["compute-image-mean", path("huge-images-idx3-ubyte"), path("m.binaryproto")]] {
            try expect(args, status: 1, ["huge-images-idx3-ubyte: error: IDX dimensions 2147483647×2147483647×2147483647 need more data than a file can hold"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("db")), "no partial database")
    }

    func testSolverStatesWithImpossibleCounters() throws {
        let dir = tmp.path
        let solver = try write("""
            net_param { name: "n"
              layer { name: "x" type: "DummyData" top: "x" dummy_data_param { shape { dim: 2 dim: 3 } } }
              layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 1 } }
              layer { name: "t" type: "DummyData" top: "t" dummy_data_param { shape { dim: 2 dim: 1 } } }
              layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" } }
            base_lr: 0.01 lr_policy: "fixed" max_iter: 4 snapshot: 2 snapshot_prefix: "\(dir)/s"
            """, "solver.prototxt")
        try expect(["train", "--solver", solver], status: 0, [])
        let good = try readFile(path("s_iter_2.solverstate"))
        XCTAssertEqual(good.first, 0x08, "field 1, iter, a varint")
        // iter = −1 (a ten-byte varint) and iter = 2^31 − 1, the rest kept.
        let rest = Array(good.dropFirst(2))
        try write([0x08] + Self.varint(UInt64(bitPattern: -1)) + rest, "negative.solverstate")
        try write([0x08] + Self.varint(0x7FFF_FFFF) + rest, "huge.solverstate")
        try expect(["train", "--solver", solver, "--snapshot", path("negative.solverstate")], status: 1,
                   ["negative.solverstate: error: its iteration (iter) is -1; a solver state's is ≥ 0: the file is corrupt"])
        try expect(["train", "--solver", solver, "--snapshot", path("huge.solverstate")], status: 1,
                   ["huge.solverstate: error: the state is at iteration 2147483647, not before the solver's max_iter 4"])
        // A solver state given where weights belong is named as one.
        try expect(["forward", "--model", Self.lenet, "--weights", path("s_iter_2.solverstate"), "--output-dir", path("o")], status: 1,
                   ["s_iter_2.solverstate: error: this is a .solverstate (the solver's state at iteration 2), not a .caffemodel",
                    "its weights are in \(dir)/s_iter_2.caffemodel", "use train --snapshot"])
    }

    func testEmptyBatchRunsAndLabelsThatNameNoClass() throws {
        let net = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 0 dim: 1 dim: 28 dim: 28 } } }
            layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }
            """, "empty.prototxt")
        try expect(["forward", "--model", net, "--output-dir", path("o")], status: 0, ["wrote 1 blob(s)"])
        XCTAssertEqual(try NPY.read(path: path("o/conv1.npy")).shape, [0, 20, 24, 24])
        try expect(["time", "--model", net, "--iterations", "1"], status: 0, [])

        let loss = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
            layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 2 } } }
            layer { name: "loss" type: "SoftmaxWithLoss" bottom: "data" bottom: "label" top: "loss" }
            """, "loss.prototxt")
        try NPY.write(NPY.Array(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), to: path("x.npy"))
        for (value, shown) in [(Float.nan, "nan"), (1e20, "1e+20"), (-Float.infinity, "-inf")] {
            try NPY.write(NPY.Array(shape: [2], values: [1, value]), to: path("label.npy"))
            try expect(["forward", "--model", loss, "--input", "data=\(path("x.npy"))", "--input", "label=\(path("label.npy"))",
                        "--output-dir", path("o")], status: 1,
                       ["layer 'loss' (SoftmaxWithLoss): label \(shown) at position 1 is not a class number"])
        }
    }

    func testMemoryTheMachineDoesNotHaveIsAskedForFirst() throws {
        let wide = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 100000 dim: 100000 } } }
            layer { name: "r" type: "ReLU" bottom: "data" top: "r" }
            """, "wide.prototxt")
        try expect(["forward", "--model", wide, "--output-dir", path("o")], status: 1,
                   ["wide.prototxt:1:1: error: layer 'data' (Input): the net's blobs need 223.5 GiB",
                    "the largest is this layer's top 'data', 1×3×100000×100000 (111.8 GiB)"])
        let ip = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 28 dim: 28 } } }
            layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2147483647 } }
            """, "ip.prototxt")
        try expect(["forward", "--model", ip, "--output-dir", path("o")], status: 1, ["layer 'ip' (InnerProduct): parameter blob 0 would have shape 2147483647×784"])
        // A limit set by the user is named in the message.
        try expect(["forward", "--model", Self.lenet, "--output-dir", path("o")], status: 1,
                   ["layer 'conv1' (Convolution): the net's blobs need 6.5 MiB, more than the 1.0 MiB left under SWIFTCAFFE_MEMORY_LIMIT=1M"],
                   environment: ["SWIFTCAFFE_MEMORY_LIMIT": "1M"])
        try expect(["summary", Self.lenet], status: 2, ["SWIFTCAFFE_MEMORY_LIMIT=lots is not a size"], environment: ["SWIFTCAFFE_MEMORY_LIMIT": "lots"])
        // Resize options.
        let images = Paths.fixture("images")
        try expect(["classify", "--model", "\(images)/tiny_classifier.prototxt", "--weights", "\(images)/tiny.caffemodel",
                    "--resize", "100000,100000", "\(images)/photo.jpg"], status: 2, ["resizing to 100000×100000 needs 111.8 GiB per image, more than"])
        try write("photo.jpg 1\n", "list.txt")
        try expect(["convert-imageset", images + "/", path("list.txt"), path("db"), "--resize-height", "100000", "--resize-width", "100000"],
                   status: 2, ["resizing to 100000×100000 needs 139.7 GiB per image"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("db")))
    }

    func testDecompressionBombStopsAtItsHeader() throws {
        // An IDX header of one 1×1 image, then 64 MiB of zeros, gzip'd to about 64 KiB.
        var raw: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
        raw += [UInt8](repeating: 0, count: 64 << 20)
        let gz = try write(ReaderFuzzTests.gzip(raw), "bomb-images-idx3-ubyte.gz")
        XCTAssertLessThan(try readFile(gz).count, 1 << 20)
        XCTAssertThrowsError(try IDXFile.read(path: gz)) { e in
            XCTAssertEqual("\(e)", "\(gz): error: decompresses to more than the 17 bytes its header declares")
        }
        // A header declaring more than any machine has.
        let big: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF]
        let declared = try write(ReaderFuzzTests.gzip([0, 0, 8, 3] + big + big + big + [UInt8](repeating: 7, count: 4096)), "huge-images-idx3-ubyte.gz")
        XCTAssertThrowsError(try IDXFile.read(path: declared)) { e in
            XCTAssertTrue("\(e)".contains("its header declares 8388608.0 TiB of data, more than the"), "\(e)")
        }
    }

    func testSymlinkLoopsDevicesAndMissingTargetsAreNamed() throws {
        let a = path("loop-a.prototxt"), b = path("loop-b.prototxt")
        try FileManager.default.createSymbolicLink(atPath: a, withDestinationPath: b)
        try FileManager.default.createSymbolicLink(atPath: b, withDestinationPath: a)
        try expect(["summary", a], status: 1, ["loop-a.prototxt: error: symbolic links loop back on themselves"])
        try FileManager.default.createSymbolicLink(atPath: path("dangling.prototxt"), withDestinationPath: path("gone.prototxt"))
        try expect(["summary", path("dangling.prototxt")], status: 1, ["dangling.prototxt: error: is a symbolic link to \(path("gone.prototxt")), which does not exist"])
        try expect(["summary", "/dev/zero"], status: 1, ["/dev/zero: error: is a character device, not a file; give a regular file"])
        try expect(["forward", "--model", Self.lenet, "--weights", "/dev/zero", "--output-dir", path("o")], status: 1,
                   ["/dev/zero: error: is a character device, not a file"])
        try expect(["summary", tmp.path], status: 1, ["error: is a directory, not a file"])
        // --output-dir onto a file: said in words, not as an NSCocoaErrorDomain code.
        try write("x", "plain")
        let r = try expect(["forward", "--model", Self.lenet, "--output-dir", path("plain")], status: 1, ["plain: error: exists and is not a folder"])
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"))
        // Negative numbers reach the option's own check.
        try expect(["time", "--model", Self.lenet, "--threads", "-1"], status: 2, ["error: --threads must be at least 1, found -1"])
        try expect(["time", "--model", Self.lenet, "--iterations", "-3"], status: 2, ["error: --iterations must be at least 1"])
    }

    func testDamagedLMDBIsAnErrorNotAFault() throws {
        let records = try IDXRecords(IDXDataset(source: Paths.fixture("idx/tiny-images-idx3-ubyte.gz")))
        let db = path("db")
        try DatasetConversion.convert(records, to: db)
        let data = db + "/data.mdb"
        let whole = try readFile(data)
        // Cut short: refused from the header, before any page is read.
        let cut = path("cut")
        try FileManager.default.createDirectory(atPath: cut, withIntermediateDirectories: true)
        try Data(whole.prefix(whole.count / 2)).write(to: URL(fileURLWithPath: cut + "/data.mdb"))
        try expect(["compute-image-mean", cut, path("m.binaryproto")], status: 1, ["cut/data.mdb: error: is truncated: the database's header says it has"])
        // Pages overwritten with noise, seeded: each read ends in an error or a mean, never a signal.
        var r = FuzzTests.Random(state: 0x1D_B0)
        for k in 0..<8 {
            var bytes = whole
            for _ in 0..<40 {
                let at = 8192 + r.below(max(1, bytes.count - 8208))
                for j in 0..<16 { bytes[at + j] = UInt8(truncatingIfNeeded: r.next()) }
            }
            let dir = path("noisy\(k)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/data.mdb"))
            let run = try CLITests.run(["compute-image-mean", dir, path("m\(k).binaryproto")])
            XCTAssertTrue(run.status == 0 || run.status == 1, "case \(k): status \(run.status)\n\(run.stderr)")
            if run.status == 1 { XCTAssertTrue(run.stderr.contains("noisy\(k)"), run.stderr) }
        }
    }

    func testTruncatedJPEGAndNaNScoresAndCRLFLabels() throws {
        let images = Paths.fixture("images")
        let photo = try readFile("\(images)/photo.jpg")
        let cut = try write(Array(photo.prefix(photo.count - 100)), "cut.jpg")
        try expect(["classify", "--model", "\(images)/tiny_classifier.prototxt", "--weights", "\(images)/tiny.caffemodel", cut], status: 1,
                   ["cut.jpg: error: truncated or corrupt JPEG (Premature end of JPEG file)"])
        // A net whose scores are NaN (√ of negative values): --json stays JSON, with null.
        let nan = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
            layer { name: "root" type: "Power" bottom: "data" top: "root" power_param { power: 0.5 scale: -1 shift: -1 } }
            layer { name: "prob" type: "Softmax" bottom: "root" top: "prob" }
            """, "nan.prototxt")
        try write("first\r\nsecond\r\nthird\r\n", "labels.txt")
        let run = try CLITests.run(["classify", "--model", nan, "--weights", "\(images)/tiny.caffemodel", "--json", "--top", "2",
                                    "--labels", path("labels.txt"), "\(images)/photo.jpg"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        let top = try XCTUnwrap(((json["results"] as? [[String: Any]])?.first?["top"]) as? [[String: Any]])
        XCTAssertTrue(top.first?["probability"] is NSNull, "\(top)")
        XCTAssertEqual(top.first?["label"] as? String, "first", "CRLF lines are one label each")
        // CRLF image lists.
        try write("photo.jpg 1\r\ngrey.jpg 2\r\n", "list.txt")
        try expect(["convert-imageset", images + "/", path("list.txt"), path("db")], status: 0, ["Processed 2 files"])
    }

    func testSolverAndNetMistakesCaffeRefuses() throws {
        let net = Paths.model("lenet/train_val.prototxt")
        let both = try write("net: \"\(net)\"\nnet_param { name: \"x\" }\nbase_lr: 0.01 max_iter: 1 lr_policy: \"fixed\"", "both.prototxt")
        try expect(["train", "--solver", both], status: 1,
                   ["both.prototxt:2:1: error: the solver gives its training net twice, in net and net_param"])
        let empty = try write("net_param { name: \"empty\" }\nbase_lr: 0.01 max_iter: 1 lr_policy: \"fixed\"", "empty.prototxt")
        try expect(["train", "--solver", empty], status: 1, ["error: the training net has no layers in the TRAIN phase"])
        let noLoss = try write("""
            net_param { name: "noloss"
              layer { name: "x" type: "DummyData" top: "x" dummy_data_param { shape { dim: 2 dim: 3 } } }
              layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 1 } } }
            base_lr: 0.01 max_iter: 1 lr_policy: "fixed"
            """, "noloss.prototxt")
        try expect(["train", "--solver", noLoss], status: 1, ["the training net 'noloss' has no loss"])
        // A shared parameter of two shapes: summary refuses it as forward does.
        let shared = try write("""
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }
            layer { name: "a" type: "InnerProduct" bottom: "data" top: "a" param { name: "w" } inner_product_param { num_output: 3 bias_term: false } }
            layer { name: "b" type: "InnerProduct" bottom: "data" top: "b" param { name: "w" } inner_product_param { num_output: 5 bias_term: false } }
            """, "shared.prototxt")
        let message = "shared.prototxt:3:1: error: layer 'b' (InnerProduct): parameter 0 shares the name 'w' with layer 'a' (blob 0) but has shape 5×4, not 3×4"
        try expect(["summary", shared], status: 1, [message])
        try expect(["forward", "--model", shared, "--output-dir", path("o")], status: 1, [message])
    }

    func testNaNInTheInputDataIsNotBlamedOnTheLearningRate() throws {
        let solver = try write("""
            net_param { name: "n"
              layer { name: "x" type: "DummyData" top: "x" dummy_data_param { shape { dim: 2 dim: 3 } data_filler { type: "constant" value: nan } } }
              layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 1 } }
              layer { name: "t" type: "DummyData" top: "t" dummy_data_param { shape { dim: 2 dim: 1 } } }
              layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" } }
            base_lr: 0.01 lr_policy: "fixed" max_iter: 4 snapshot_after_train: false
            """, "solver.prototxt")
        let r = try expect(["train", "--solver", solver], status: 1,
                           ["training diverged at iteration 0", "the data layer 'x' (DummyData) delivered NaN in its output 'x'",
                            "the input data itself is not finite", "the learning rate is not the cause"])
        XCTAssertFalse(r.stderr.contains("Lower base_lr"), r.stderr)
    }
}
