import Foundation
import XCTest
@testable import SwiftCaffe

/// The `swiftcaffe` binary as a user runs it: output, files and exit status.
final class CLITests: XCTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The swiftcaffe built beside this test bundle.
    static let binary: URL = {
        var dir = Bundle.module.bundleURL.deletingLastPathComponent()
        for _ in 0..<3 {
            let b = dir.appendingPathComponent("swiftcaffe")
            if FileManager.default.isExecutableFile(atPath: b.path) { return b }
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("swiftcaffe")
    }()

    func run(_ args: [String], environment: [String: String] = [:]) throws -> Run { try Self.run(args, environment: environment) }

    /// Runs swiftcaffe from the repository root, through `launcher` (a
    /// command and its arguments, e.g. taskset) when given; `signal` is sent
    /// after `signalAfter` seconds.
    static func run(_ args: [String], environment: [String: String] = [:], launcher: [String] = [], signal: Int32? = nil,
                    signalAfter: Double = 0) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw XCTSkip("swiftcaffe binary not built at \(Self.binary.path)")
        }
        let p = Process()
        if let command = launcher.first {
            p.executableURL = URL(fileURLWithPath: command)
            p.arguments = Array(launcher.dropFirst()) + [Self.binary.path] + args
        } else {
            p.executableURL = Self.binary
            p.arguments = args
        }
        p.currentDirectoryURL = Paths.root
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        if let sig = signal {
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + signalAfter) { kill(pid, sig) }
        }
        // Both pipes drain at once: a child that fills one while the other is
        // read to its end would block forever.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let reader = DispatchGroup()
        DispatchQueue.global().async(group: reader) { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        reader.wait()
        let e = errBox.data
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testSummaryTableAndJSON() throws {
        let r = try run(["summary", "Models/alexnet/deploy.prototxt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("for a batch of 10\n"), "the table ends with a newline")
        for expected in ["conv1  Convolution   data → conv1      96×55×55", "pool5  Pooling       conv5 → pool5     256×6×6",
                         "Total: 60,965,224 parameters", "724.4 M MACs per item (724,406,816)"] {
            XCTAssertTrue(r.stdout.contains(expected), "missing \(expected) in\n\(r.stdout)")
        }
        let j = try run(["summary", "Models/caffenet/deploy.prototxt", "--json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["total_params"] as? Int, 60_965_224)
        XCTAssertEqual(obj["total_macs"] as? Int, 724_406_816)
        let layers = try XCTUnwrap(obj["layers"] as? [[String: Any]])
        let pool1 = try XCTUnwrap(layers.first { $0["name"] as? String == "pool1" })
        XCTAssertEqual(pool1["top_shapes"] as? [[Int]], [[10, 96, 27, 27]])
        XCTAssertEqual(pool1["bottoms"] as? [String], ["conv1"])
        XCTAssertEqual(Set(pool1.keys), ["name", "type", "bottoms", "tops", "top_shapes", "params", "macs"])
    }

    func testSideBySideMarksThePoolNormSwap() throws {
        let r = try run(["summary", "Models/alexnet/deploy.prototxt", "Models/caffenet/deploy.prototxt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let marked = r.stdout.split(separator: "\n").dropFirst().filter { $0.contains(" * ") }
        XCTAssertEqual(marked.count, 4, r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("\n"))
        // --json with two nets: an array of both.
        let j = try run(["summary", "Models/alexnet/deploy.prototxt", "Models/caffenet/deploy.prototxt", "--json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let both = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(both.map { $0["name"] as? String }, ["AlexNet", "CaffeNet"])
        XCTAssertEqual(both.map { $0["total_params"] as? Int }, [60_965_224, 60_965_224])
    }

    func testSolverSummaryAndLegacyNotes() throws {
        let r = try run(["summary", "Models/caffenet/solver.prototxt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("type SGD, base_lr 0.01, lr_policy step (gamma 0.1, stepsize 100000)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("phase TRAIN, batch 256"), r.stdout)
        let legacy = try run(["summary", Paths.fixture("legacy/lenet_v1_train_test.prototxt"), "--input-shape", "data=64,1,28,28"])
        XCTAssertEqual(legacy.status, 0, legacy.stderr)
        XCTAssertTrue(legacy.stderr.contains("note: legacy syntax upgraded in memory"), legacy.stderr)
        XCTAssertTrue(legacy.stdout.contains("431,080 parameters"), legacy.stdout)
    }

    func testExitStatusAndErrorText() throws {
        let bad = tmp.appendingPathComponent("bad.prototxt")
        try "layer {\n  name: \"c\"\n  convolution_param { kernal_size: 3 }\n}\n".write(to: bad, atomically: true, encoding: .utf8)
        let r = try run(["summary", bad.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, """
            \(bad.path):3:23: error: unknown field 'kernal_size' in ConvolutionParameter (did you mean 'kernel_size'?)
              convolution_param { kernal_size: 3 }
                                  ^

            """)
        XCTAssertEqual(try run(["summary", tmp.appendingPathComponent("missing.prototxt").path]).status, 1)
        XCTAssertEqual(try run(["summary"]).status, 2)
        XCTAssertEqual(try run(["summary", "Models/alexnet/deploy.prototxt", "--input-shape", "data"]).status, 2)
        XCTAssertEqual(try run(["frobnicate"]).status, 2)
        let draw = try run(["draw", "Models/alexnet/deploy.prototxt", "-o", tmp.appendingPathComponent("x.txt").path])
        XCTAssertEqual(draw.status, 2)
        XCTAssertTrue(draw.stderr.contains("-o must end in .dot, .gv, .svg, .png or .pdf"), draw.stderr)
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix(SwiftCaffeVersion.string + "\nBLAS: OpenBLAS, kernel "), version.stdout)
    }

    /// The default thread count is the CPUs the process may use, not all of
    /// the machine's: one under `taskset -c 0` (spinning workers on a CPU
    /// they share with the main thread would only wait for each other).
    func testThreadsFollowTheCPUsTheProcessMayUse() throws {
        let taskset = "/usr/bin/taskset"
        guard FileManager.default.isExecutableFile(atPath: taskset) else { throw XCTSkip("no \(taskset)") }
        let pinned = try Self.run(["--version"], environment: ["SWIFTCAFFE_THREADS": ""], launcher: [taskset, "-c", "0"])
        XCTAssertEqual(pinned.status, 0, pinned.stderr)
        XCTAssertTrue(pinned.stdout.contains(", 1 thread(s)"), pinned.stdout)
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            let both = try Self.run(["--version"], environment: ["SWIFTCAFFE_THREADS": ""], launcher: [taskset, "-c", "0,1"])
            XCTAssertTrue(both.stdout.contains(", 2 thread(s)"), both.stdout)
        }
    }

    func testUpgradeWritesCurrentSyntaxAndListsChanges() throws {
        let out = tmp.appendingPathComponent("new.prototxt")
        let r = try run(["upgrade", Paths.fixture("legacy/imagenet_v0.prototxt"), "-o", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("padding layer 'pad2' folded into 'conv2' (pad 2)"), r.stderr)
        let text = try String(contentsOf: out, encoding: .utf8)
        XCTAssertTrue(text.contains("type: \"Convolution\""))
        XCTAssertFalse(text.contains("layers {"))
        XCTAssertEqual(try run(["summary", out.path]).status, 0)
        let solver = try run(["upgrade", Paths.fixture("legacy/solver_v1.prototxt")])
        XCTAssertEqual(solver.status, 0, solver.stderr)
        XCTAssertTrue(solver.stdout.contains("type: \"Adam\""), solver.stdout)
        XCTAssertFalse(solver.stdout.contains("solver_type"))
        let weights = tmp.appendingPathComponent("v2.caffemodel")
        let w = try run(["upgrade", Paths.fixture("weights/small_v1.caffemodel"), "-o", weights.path])
        XCTAssertEqual(w.status, 0, w.stderr)
        XCTAssertTrue(w.stderr.contains("upgraded weights V1 (layers) → V2 (layer): 5 layers, 5 blobs kept as stored"), w.stderr)
        XCTAssertEqual(try CaffeModel(path: weights.path).format, .v2)
        let noOutput = try run(["upgrade", Paths.fixture("weights/small_v1.caffemodel")])
        XCTAssertEqual(noOutput.status, 2)
        XCTAssertTrue(noOutput.stderr.contains("give -o NEW.caffemodel"), noOutput.stderr)
        let current = try run(["upgrade", "Models/alexnet/deploy.prototxt"])
        XCTAssertTrue(current.stderr.contains("already in current syntax"), current.stderr)
    }

    func testDeployAndDraw() throws {
        let deploy = tmp.appendingPathComponent("deploy.prototxt")
        let r = try run(["deploy", "Models/alexnet/train_val.prototxt", "-o", deploy.path, "--input-shape", "data=10,3,227,227"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try run(["summary", deploy.path, "--json"])
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["total_params"] as? Int, 60_965_224)
        XCTAssertEqual((obj["layers"] as? [[String: Any]])?.last?["name"] as? String, "prob")

        let dot = tmp.appendingPathComponent("net.dot")
        XCTAssertEqual(try run(["draw", "Models/caffenet/deploy.prototxt", "-o", dot.path, "--rankdir", "TB"]).status, 0)
        let text = try String(contentsOf: dot, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("digraph \"CaffeNet\" {\n  rankdir=TB;"))
        XCTAssertTrue(text.contains("label=\"conv1\\n(Convolution)\\nkernel 11, stride 4, pad 0\""), text)
        XCTAssertTrue(text.contains("\"blob_conv1_1\""), "in-place ReLU writes a new version of conv1")
        XCTAssertTrue(text.contains("size 5, alpha 0.0001, beta 0.75"), "parameters as the file wrote them: \(text)")
        // The Splits the builder inserts are not drawn: ip2's readers are drawn from ip2 itself.
        let lenet = tmp.appendingPathComponent("lenet.dot")
        XCTAssertEqual(try run(["draw", "Models/lenet/train_val.prototxt", "-o", lenet.path]).status, 0)
        let lenetText = try String(contentsOf: lenet, encoding: .utf8)
        XCTAssertFalse(lenetText.contains("Split"), lenetText)
        XCTAssertTrue(lenetText.contains("\"blob_ip2_0\" -> \"layer_") && lenetText.contains("_accuracy\";"), lenetText)
        XCTAssertEqual(lenetText.components(separatedBy: "\"blob_ip2_0\" -> ").count - 1, 2, lenetText)
        // Left to right, deep nets wrap into rows, each cut at a blob everything later depends on.
        let g = try ModelFile.loadNet(path: Paths.model("alexnet/deploy.prototxt")).graph()
        let wrapped = DotWriter.dot(g, rankdir: "LR", wrap: 6)
        XCTAssertEqual(wrapped.components(separatedBy: "\\n(continued)\"").count - 1, 3, "24 layers in 4 rows: \(wrapped)")
        XCTAssertTrue(wrapped.contains("\"blob_conv2_0_row1\" [shape=octagon, style=filled, fillcolor=\"#E0E0E0\", label=\"conv2\\n10×256×27×27\\n(continued)\"]"),
                      wrapped)
        XCTAssertFalse(DotWriter.dot(g, rankdir: "TB").contains("(continued)"), "top to bottom needs no rows")
        XCTAssertFalse(DotWriter.dot(g, rankdir: "LR", wrap: 0).contains("(continued)"))
        let google = DotWriter.dot(try ModelFile.loadNet(path: Paths.model("googlenet/deploy.prototxt")).graph(), rankdir: "LR")
        let continued = google.split(separator: "\n").filter { $0.contains("(continued)") }
        XCTAssertGreaterThanOrEqual(continued.count, 8)
        // GoogLeNet is cut only between modules: at a module's output or a pooling between them, never inside a module's branches.
        for line in continued {
            XCTAssertTrue(line.contains("/output") || line.contains("pool") || line.contains("conv2/3x3") || line.contains("conv2/norm2"), String(line))
        }
        let svg = tmp.appendingPathComponent("net.svg")
        let drawn = try run(["draw", "Models/caffenet/deploy.prototxt", "-o", svg.path])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dot") {
            XCTAssertEqual(drawn.status, 0, drawn.stderr)
            XCTAssertTrue(try String(contentsOf: svg, encoding: .utf8).contains("<svg"))
        } else {
            XCTAssertEqual(drawn.status, 1)
            XCTAssertTrue(drawn.stderr.contains("apt-get install graphviz"), drawn.stderr)
        }
    }

    func testTimeReportsLayersPassesAndBLAS() throws {
        let r = try run(["time", "--model", "Models/caffenet/deploy.prototxt", "--batch", "1", "--iterations", "1", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("CaffeNet: phase TRAIN, batch 1, 1 iterations, 2 thread(s); BLAS: OpenBLAS, kernel "), r.stdout)
        // The inference pass per layer: relu1 folded into conv1.
        let relu1 = r.stdout.split(separator: "\n").first { $0.hasPrefix("relu1 ") }
        XCTAssertEqual(relu1?.split(separator: " ").dropFirst(2).first, "fused", r.stdout)
        for expected in ["layer  type          inference ms  forward ms  backward ms", "conv1  Convolution", "Forward pass:    (unfused, as before a backward) ",
                         "images/s", "GFLOP/s", "Forward-backward:", "Inference forward: ", "(TEST phase, fused, as `forward` and `classify` run it)"] {
            XCTAssertTrue(r.stdout.contains(expected), "missing \(expected) in\n\(r.stdout)")
        }
        let half = try run(["time", "--model", "Models/caffenet/deploy.prototxt", "--batch", "1", "--iterations", "1", "--weights-precision", "bf16"])
        XCTAssertEqual(half.status, 0, half.stderr)
        XCTAssertTrue(half.stdout.contains("; InnerProduct and Convolution weights bf16 in the inference forward"), half.stdout)
        let badPrecision = try run(["time", "--model", "Models/caffenet/deploy.prototxt", "--weights-precision", "fp8"])
        XCTAssertEqual(badPrecision.status, 2)
        XCTAssertTrue(badPrecision.stderr.contains("fp8"), badPrecision.stderr)
        // A net with a loss is timed as it trains: no inference line.
        let lossNet = tmp.appendingPathComponent("loss.prototxt")
        try """
            layer { name: "d" type: "DummyData" top: "x" top: "y" dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 3 } } }
            layer { name: "ip" type: "InnerProduct" bottom: "x" top: "ip" inner_product_param { num_output: 3 } }
            layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "y" top: "loss" }
            """.write(to: lossNet, atomically: true, encoding: .utf8)
        let training = try run(["time", "--model", lossNet.path, "--iterations", "1"])
        XCTAssertEqual(training.status, 0, training.stderr)
        XCTAssertTrue(training.stdout.contains("Forward pass:    ") && !training.stdout.contains("Inference forward"), training.stdout)
        let trainingHalf = try run(["time", "--model", lossNet.path, "--iterations", "1", "--weights-precision", "fp16"])
        XCTAssertEqual(trainingHalf.status, 2)
        XCTAssertTrue(trainingHalf.stderr.contains("--weights-precision times the inference forward, which a net with a loss does not have"),
                      trainingHalf.stderr)
        // Caffe's spellings, and `caffe time`'s closing lines after the table.
        let caffe = try run(["time", "-model", "Models/lenet/deploy.prototxt", "-iterations", "2", "-phase", "test"])
        XCTAssertEqual(caffe.status, 0, caffe.stderr)
        let lines = caffe.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.suffix(4).map { $0.components(separatedBy: ":")[0] },
                       ["Average Forward pass", "Average Backward pass", "Average Forward-Backward", "Total Time"])
        XCTAssertTrue(lines.suffix(4).allSatisfy { $0.hasSuffix(" ms.") }, caffe.stdout)
        XCTAssertTrue(caffe.stdout.contains("phase TEST"), caffe.stdout)
        XCTAssertTrue(caffe.stdout.contains(" ms (min "), "min and median per pass: \(caffe.stdout)")
        XCTAssertEqual(try run(["time", "--model", "Models/caffenet/deploy.prototxt", "--threads", "0"]).status, 2)
        let data = try run(["time", "--model", "Models/caffenet/train_val.prototxt", "--iterations", "1"])
        XCTAssertEqual(data.status, 1)
        // The data layer runs now; BVLC's LMDB is not on this machine, and the error says which file.
        XCTAssertTrue(data.stderr.contains("layer 'data' (Data): cannot read mean_file \"data/ilsvrc12/imagenet_mean.binaryproto\""), data.stderr)
    }

    func testForwardWritesBlobsAndComparesThem() throws {
        let model = tmp.appendingPathComponent("net.prototxt")
        try """
            name: "tiny"
            layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 6 dim: 6 } } }
            layer { name: "conv" type: "Convolution" bottom: "data" top: "conv/out"
              convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "gaussian" std: 0.3 } bias_filler { type: "uniform" } } }
            layer { name: "relu" type: "ReLU" bottom: "conv/out" top: "conv/out" }
            layer { name: "pool" type: "Pooling" bottom: "conv/out" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
            layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
            layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
            """.write(to: model, atomically: true, encoding: .utf8)
        // A batch of 3, not the file's 1: the net reshapes to the input.
        let input = NPY.Array(shape: [3, 2, 6, 6], values: (0..<216).map { Float($0 % 17) / 8 - 1 })
        let inputPath = tmp.appendingPathComponent("x.npy").path
        try NPY.write(input, to: inputPath)
        let out = tmp.appendingPathComponent("out").path
        let r = try run(["forward", "--model", model.path, "--input", "data=\(inputPath)", "--all-blobs", "--output-dir", out, "--seed", "9"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["conv_out.npy", "data.npy", "ip.npy", "pool.npy", "prob.npy"])

        // The same net in this process, same seed and input: bit-identical.
        let net = try Net(graph: try NetGraph.build(try ModelFile.loadNet(path: model.path).net,
                                                    options: .init(inputShapes: ["data": [3, 2, 6, 6]])), seed: 9)
        net.blob("data")!.set(input.values)
        try net.forward()
        XCTAssertEqual(try NPY.read(path: out + "/prob.npy"), NPY.Array(shape: [3, 4], values: net.blob("prob")!.values))
        XCTAssertEqual(try NPY.read(path: out + "/conv_out.npy").values, net.blob("conv/out")!.values)

        let same = try run(["forward", "--model", model.path, "--input", "data=\(inputPath)", "--compare", out, "--seed", "9"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertTrue(same.stdout.hasSuffix("All 5 compared blobs agree within 1e-4 relative.\n"), same.stdout)
        // Spoil the pooled blob: the comparison points at it first.
        var pool = try NPY.read(path: out + "/pool.npy")
        pool.values[5] += 0.5
        try NPY.write(pool, to: out + "/pool.npy")
        let diverged = try run(["forward", "--model", model.path, "--input", "data=\(inputPath)", "--compare", out, "--seed", "9"])
        XCTAssertTrue(diverged.stdout.contains("First divergence (relative error > 1e-4): pool"), diverged.stdout)
        XCTAssertEqual(diverged.status, 3, "a divergence fails the command with its own status")
        // An input the net does not have is bad usage, and the error names the net's inputs.
        let wrong = try run(["forward", "--model", model.path, "--input", "image=\(inputPath)", "--output-dir", out])
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("--input image: the net has no input 'image'; its inputs: data"), wrong.stderr)
        XCTAssertTrue(diverged.stdout.contains("← first divergence"), diverged.stdout)
        // Every column has a header; each row says whether it agrees.
        let tableLines = diverged.stdout.split(separator: "\n")
        XCTAssertTrue(tableLines[0].hasPrefix("blob") && tableLines[0].hasSuffix("max rel error  agrees"), diverged.stdout)
        XCTAssertTrue(tableLines.contains { $0.hasPrefix("pool ") && $0.hasSuffix("no ← first divergence") }, diverged.stdout)
        XCTAssertTrue(tableLines.contains { $0.hasPrefix("ip ") && $0.hasSuffix("  yes") }, diverged.stdout)

        let weights = try run(["forward", "--model", Paths.fixture("weights/small.prototxt"), "--weights", Paths.fixture("weights/small_v1.caffemodel"),
                               "--output-dir", out, "--verbose"])
        XCTAssertEqual(weights.status, 0, weights.stderr)
        XCTAssertTrue(weights.stderr.contains("V1 (layers) weights of 'small'"), weights.stderr)
        XCTAssertTrue(weights.stderr.contains("skipped (not in the net)"), weights.stderr)
        let notWeights = try run(["forward", "--model", model.path, "--weights", model.path, "--output-dir", out])
        XCTAssertEqual(notWeights.status, 1)
        XCTAssertTrue(notWeights.stderr.contains("this is a text file (a prototxt?), not a binary NetParameter"), notWeights.stderr)
        let fortran = try run(["forward", "--model", model.path, "--input", "data=\(Paths.fixture("npy/fortran.npy"))", "--output-dir", out])
        XCTAssertEqual(fortran.status, 1)
        XCTAssertTrue(fortran.stderr.contains("Fortran order"), fortran.stderr)
        let unknown = try run(["forward", "--model", model.path, "--blobs", "nope", "--output-dir", out])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("--blobs names nope, which the net lacks"), unknown.stderr)
    }

    func testKernelSelection() throws {
        // A set OPENBLAS_CORETYPE is respected; a generic one gets a warning.
        let generic = try run(["time", "--model", "Models/caffenet/deploy.prototxt", "--batch", "1", "--iterations", "1"],
                              environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(generic.status, 0, generic.stderr)
        XCTAssertTrue(generic.stdout.contains("kernel Prescott"), generic.stdout)
        if BLAS.bestKernelForCPU != nil {
            XCTAssertTrue(generic.stderr.contains("warning: OPENBLAS_CORETYPE=Prescott selects OpenBLAS's generic 'Prescott' kernel"), generic.stderr)
        }
        // Unset and (as the test hook pretends) generic: the process restarts with the CPU's kernel.
        guard let best = BLAS.bestKernelForCPU, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let switched = try run(["--version"], environment: ["SWIFTCAFFE_ASSUME_GENERIC_KERNEL": "1"])
        XCTAssertEqual(switched.status, 0, switched.stderr)
        XCTAssertTrue(switched.stdout.contains("OPENBLAS_CORETYPE=\(best)"), switched.stdout)
        XCTAssertTrue(switched.stdout.contains("SwiftCaffe selected"), switched.stdout)
        XCTAssertTrue(switched.stdout.contains("sgemm self-check passed"), switched.stdout)
        // A kernel switched to and checked is not repeated on every command's stderr.
        let quiet = try run(["summary", "Models/lenet/deploy.prototxt"], environment: ["SWIFTCAFFE_ASSUME_GENERIC_KERNEL": "1"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stderr, "")
    }

    func testClassify() throws {
        func img(_ f: String) -> String { Paths.fixture("images/\(f)") }
        let base = ["classify", "--model", img("tiny_classifier.prototxt"), "--weights", img("tiny.caffemodel"), "--mean-value", "104,117,123",
                    "--resize", "20,20", "--labels", img("labels.txt")]
        let r = try run(base + ["--oversample", "--top", "2", img("rgb.png"), img("photo.jpg")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("Preprocessing: resize to 20×20 (bilinear), RGB → BGR, channels first, values 0–255, "
                                         + "minus mean values 104,117,123, 10 crops of 16×16 (4 corners + centre, and their mirrors), predictions averaged\n"),
                      r.stdout)
        XCTAssertTrue(r.stdout.contains("\(img("rgb.png")):\n  0.5000  n00000001 class number 1\n  0.2252  n00000005 class number 5\n"), r.stdout)
        // The same weights in the V1 layout classify alike.
        var v1 = base
        v1[4] = img("tiny_v1.caffemodel")
        let r1 = try run(v1 + ["--oversample", "--top", "2", img("rgb.png"), img("photo.jpg")])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertEqual(r1.stdout, r.stdout)
        // bfloat16 weights: the same ranking, probabilities a little off
        // (the tiny net's are 0.5000 and 0.2252 at fp32).
        let half = try run(base + ["--oversample", "--top", "2", "--weights-precision", "bf16", img("rgb.png")])
        XCTAssertEqual(half.status, 0, half.stderr)
        let lines = half.stdout.split(separator: "\n").filter { $0.hasPrefix("  0.") }
        XCTAssertEqual(lines.map { $0.dropFirst(10) }, ["n00000001 class number 1", "n00000005 class number 5"], half.stdout)
        XCTAssertEqual(Double(lines[0].dropFirst(2).prefix(6)) ?? 0, 0.5, accuracy: 0.01, half.stdout)
        XCTAssertEqual(Double(lines[1].dropFirst(2).prefix(6)) ?? 0, 0.2252, accuracy: 0.01, half.stdout)
        let j = try run(base + ["--json", img("rgb.png")])
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let top = try XCTUnwrap(((obj["results"] as? [[String: Any]])?.first?["top"]) as? [[String: Any]])
        XCTAssertEqual(top.count, 5)
        XCTAssertEqual(top.first?["class"] as? Int, 1)
        XCTAssertEqual(top.first?["label"] as? String, "n00000001 class number 1")
        let bad = try run(base + [img("truncated.png")])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("truncated.png: error: corrupt or unsupported PNG"), bad.stderr)
        XCTAssertEqual(try run(base + ["--mean", img("../weights/mean.npy"), img("rgb.png")]).status, 2, "a 3×6×8 mean neither matches 20×20 nor covers 16×16")
        let grey = try run(base + ["--gray", img("rgb.png")])
        XCTAssertEqual(grey.status, 2)
        XCTAssertTrue(grey.stderr.hasSuffix("error: --gray gives 1-channel input, but the net takes 3 channels\n"), grey.stderr)
    }

    func testCompletionScriptsComeFromTheParser() throws {
        for (shell, marker) in [("bash", "complete -"), ("zsh", "#compdef swiftcaffe"), ("fish", "complete -c 'swiftcaffe'")] {
            let r = try run(["--generate-completion-script", shell])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains(marker), "\(shell): \(r.stdout.prefix(200))")
            for word in ["classify", "train", "export-weights", "train-net", "rankdir"] {
                XCTAssertTrue(r.stdout.contains(word), "\(shell) completes \(word)")
            }
        }
    }
}

/// `swiftcaffe export-onnx` as a user runs it (the values are checked by
/// onnxruntime in python/tests/test_onnx.py).
final class ExportOnnxCLITests: XCTestCase {
    func testWritesADeterministicModelAndRefusesTrainingNets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("lenet.onnx").path
        let first = try CLITests.run(["export-onnx", Paths.model("lenet/deploy.prototxt"), "-o", out, "--opset", "17"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.hasPrefix("wrote \(out): opset 17"), first.stdout)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertTrue(bytes.count > 1_000_000, "LeNet's 431k weights as float32")
        XCTAssertEqual(try CLITests.run(["export-onnx", Paths.model("lenet/deploy.prototxt"), "-o", out, "--opset", "17"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes, "the same net gives the same bytes")
        let train = try CLITests.run(["export-onnx", Paths.model("lenet/train_val.prototxt"), "-o", dir.appendingPathComponent("t.onnx").path])
        XCTAssertNotEqual(train.status, 0)
        XCTAssertTrue(train.stderr.contains("a data layer has no ONNX operator; export the deploy net (`swiftcaffe deploy`)"), train.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("t.onnx").path))
        let opset = try CLITests.run(["export-onnx", Paths.model("lenet/deploy.prototxt"), "-o", out, "--opset", "9"])
        XCTAssertEqual(opset.status, 2)
        XCTAssertTrue(opset.stderr.contains("--opset must be 13 to 21, found 9"), opset.stderr)
        let overwrite = try CLITests.run(["export-onnx", Paths.model("lenet/deploy.prototxt"), "-o", Paths.model("lenet/deploy.prototxt")])
        XCTAssertNotEqual(overwrite.status, 0, "never replaces its input")
    }
}
