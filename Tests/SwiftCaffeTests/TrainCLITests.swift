import Foundation
import XCTest
@testable import SwiftCaffe

/// `swiftcaffe train`, `test`, the data tools, `plot` and `compare` as a user runs them.
final class TrainCLITests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-traincli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A solver on the tiny IDX fixture, its net inline.
    func writeSolver(_ extra: String = "", maxIter: Int = 20) throws -> String {
        try TrainCLITestsSupport.solver(in: tmp, maxIter: maxIter, extra: extra)
    }

    func testTrainWritesCaffeLogLinesSnapshotsAndMetrics() throws {
        let solver = try writeSolver()
        let metrics = tmp.appendingPathComponent("m.csv").path
        let log = tmp.appendingPathComponent("train.log").path
        // Caffe's own spelling of the options.
        let r = try CLITests.run(["train", "-solver", solver, "--log-file", log, "--metrics", metrics])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        // glog prefix: I<mmdd> <hh:mm:ss.micro> <pid> <file:line>] <message>, the file and line SwiftCaffe's own.
        let glog = try NSRegularExpression(pattern: #"^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [A-Z][A-Za-z]+\.swift:\d+\] "#)
        XCTAssertFalse(r.stderr.contains(".cpp:"), "no made-up Caffe source locations")
        XCTAssertTrue(r.stderr.contains("] Training from iteration 0 to 20\n"), r.stderr)
        for expected in [#"\] Iteration 5 \([0-9.e+-]+ iter/s, [0-9.e+-]+s/5 iters\), loss = [0-9.]+$"#,
                         #"\]     Train net output #0: loss = [0-9.]+ \(\* 1 = [0-9.]+ loss\)$"#,
                         #"\] Iteration 10, lr = 0\.05$"#, #"\] Iteration 10, Testing net \(#0\)$"#,
                         #"\]     Test net output #0: accuracy = [0-9.]+$"#,
                         #"\] Snapshotting to binary proto file .*/tiny_iter_10\.caffemodel$"#,
                         #"\] Snapshotting solver state to binary proto file .*/tiny_iter_10\.solverstate$"#,
                         #"\] Optimization Done\.$"#] {
            let re = try NSRegularExpression(pattern: expected)
            let hit = lines.first { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            XCTAssertNotNil(hit, "no line matches \(expected) in\n\(r.stderr)")
            if let h = hit { XCTAssertNotNil(glog.firstMatch(in: h, range: NSRange(h.startIndex..., in: h)), h) }
        }
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), r.stderr, "the log file holds the same lines")
        for n in [10, 20] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("tiny_iter_\(n).caffemodel").path))
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("tiny_iter_\(n).solverstate").path))
        }
        let csv = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "iteration,seconds,lr,train_loss,test0_accuracy,test0_loss")
        XCTAssertTrue(csv.contains { $0.hasPrefix("10,") && $0.contains(",0.05,") }, "\(csv)")
        XCTAssertEqual(csv.filter { $0.hasPrefix("20,") && $0.hasSuffix(",") == false }.count, 1, "the test row at iteration 20: \(csv)")
        // The last iteration's row: its lr (step policy, 0.1 halved at 10 and 20) and smoothed loss, as the log's last loss line.
        let last = try XCTUnwrap(csv.first { $0.hasPrefix("20,") && $0.hasSuffix(",,") }, "\(csv)").split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(last[2], "0.025")
        let finalLine = try XCTUnwrap(lines.last { $0.contains("] Iteration 20, loss = ") })
        XCTAssertEqual(String(last[3]), String(finalLine.split(separator: " ").last!))

        // The plot reads our log back.
        let svg = tmp.appendingPathComponent("p.svg").path
        let plot = try CLITests.run(["plot", log, "-o", svg])
        XCTAssertEqual(plot.status, 0, plot.stderr)
        XCTAssertTrue(plot.stderr.contains("train.log: 5 train loss points; test outputs: accuracy, loss"), plot.stderr)
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg "))

        // `test` with the snapshot: 5 batches of 8, accuracy averaged.
        let t = try CLITests.run(["test", "--model", solver, "--weights", tmp.appendingPathComponent("tiny_iter_20.caffemodel").path, "--iterations", "5"])
        XCTAssertEqual(t.status, 1, "a solver file is not a net: \(t.stdout)")
    }

    func testResumeAndMixUpsAndStopBySignal() throws {
        let solver = try writeSolver(maxIter: 20)
        let first = try CLITests.run(["train", "--solver", solver, "--iterations", "10"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let state = tmp.appendingPathComponent("tiny_iter_10.solverstate").path
        let resumed = try CLITests.run(["train", "--solver", solver, "--snapshot", state])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.stderr.components(separatedBy: "Resuming from \(state)").count, 2, "said once: \(resumed.stderr)")
        XCTAssertTrue(resumed.stderr.contains("] Training from iteration 10 to 20\n"), resumed.stderr)
        XCTAssertFalse(resumed.stderr.contains("Iteration 5 ("), "a resumed run starts at 10")
        XCTAssertTrue(resumed.stderr.contains("Iteration 15 ("))

        let weights = tmp.appendingPathComponent("tiny_iter_10.caffemodel").path
        let mixUp = try CLITests.run(["train", "--solver", solver, "--snapshot", weights])
        XCTAssertEqual(mixUp.status, 2)
        XCTAssertEqual(mixUp.stderr, "error: --snapshot \(weights) is a .caffemodel (weights); --snapshot resumes from a .solverstate. "
                       + "To start from these weights, use --weights \(weights)\n")

        // A long run stopped by SIGINT writes a snapshot and exits 130.
        let long = try writeSolver("snapshot_after_train: false", maxIter: 1_000_000)
        let stopped = try CLITests.run(["train", "--solver", long], signal: SIGINT, signalAfter: 2)
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("signal 2 received: snapshotting after this iteration, then stopping"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("Optimization stopped early."), stopped.stderr)
        let snapshotLine = stopped.stderr.split(separator: "\n").last { $0.contains("Snapshotting solver state to binary proto file") }
        let written = snapshotLine.map { String($0.split(separator: " ").last!) }
        XCTAssertNotNil(written)
        if let w = written { XCTAssertGreaterThan(try SolverState.read(path: w).iteration, 0) }
        // ... and says how to go on from it.
        if let w = written {
            XCTAssertTrue(stopped.stderr.hasSuffix("Last snapshot: \(w). Resume with: swiftcaffe train --solver \(long) --snapshot \(w)\n"),
                          stopped.stderr)
        }
    }

    func testIterationsCountFromTheSnapshot() throws {
        let solver = try writeSolver(maxIter: 20)
        XCTAssertEqual(try CLITests.run(["train", "--solver", solver, "--iterations", "10"]).status, 0)
        let state = tmp.appendingPathComponent("tiny_iter_10.solverstate").path
        let more = try CLITests.run(["train", "--solver", solver, "--snapshot", state, "--iterations", "5"])
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stderr.contains("] Training from iteration 10 to 15 (max_iter is 20)\n"), more.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("tiny_iter_15.solverstate").path))
    }

    func testFinalLossIsSmoothedAsCaffePrintsIt() throws {
        // base_lr 1e-30 (0 is refused): the weights stay, so each of the 5 batches of 8 records
        // has one loss, and a window of 5 averages all five. The last line's
        // forward reads batch 0 again: Caffe adds it to the window and prints
        // the average, not batch 0's own loss (iteration 0's line).
        let solver = try writeSolver("average_loss: 5", maxIter: 20)
        try String(contentsOfFile: solver, encoding: .utf8).replacingOccurrences(of: "base_lr: 0.1", with: "base_lr: 1e-30")
            .replacingOccurrences(of: "display: 5", with: "display: 1").write(toFile: solver, atomically: true, encoding: .utf8)
        let r = try CLITests.run(["train", "--solver", solver])
        XCTAssertEqual(r.status, 0, r.stderr)
        func loss(_ prefix: String) throws -> Float {
            let line = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.contains("] \(prefix)") }, prefix)
            return try XCTUnwrap(Float(line.split(separator: " ").last!))
        }
        let average = try loss("Iteration 19 (")
        XCTAssertEqual(try loss("Iteration 20, loss = "), average, accuracy: 1e-5)
        XCTAssertEqual(try loss("Iteration 4 ("), average, accuracy: 1e-5)
        XCTAssertNotEqual(try loss("Iteration 0 ("), average, "batch 0's own loss differs from the five's mean")
    }

    /// Caffe's tools/extra/parse_log.py reads a log with these patterns: rows
    /// begin at "Iteration N", seconds count from the "Solving" line's glog
    /// time, "lr = X" gives the learning rate, and "Train/Test net output
    /// #k: name = v" the columns. Our log gives it every display and test.
    func testLogReadsAsParseLogPyReadsIt() throws {
        let solver = try writeSolver()
        let log = tmp.appendingPathComponent("train.log").path
        XCTAssertEqual(try CLITests.run(["train", "--solver", solver, "--log-file", log]).status, 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        func matches(_ pattern: String, _ line: String) throws -> [String]? {
            let re = try NSRegularExpression(pattern: pattern)
            guard let m = re.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { return nil }
            return (1..<m.numberOfRanges).map { Range(m.range(at: $0), in: line).map { String(line[$0]) } ?? "" }
        }
        func seconds(_ line: String) -> Double {  // parse_log's extract_datetime_from_line: "I1201 15:27:41.333760 ..."
            let t = line.split(separator: " ")[1].split(separator: ":").map { Double($0)! }
            return t[0] * 3600 + t[1] * 60 + t[2]
        }
        var start: Double?, iteration = -1, lr = -1.0
        var train: [Int: (lr: Double, loss: Double)] = [:], test: [Int: Double] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if start == nil, line.contains("Solving") { start = seconds(line) }
            if let m = try matches(#"Iteration (\d+)"#, line) { iteration = Int(m[0])! }
            if iteration == -1 { continue }
            XCTAssertGreaterThanOrEqual(seconds(line) - (start ?? .infinity), 0, "a row before the Solving line: \(line)")
            if let m = try matches(#"lr = ([-+]?[0-9]*\.?[0-9]+([eE]?[-+]?[0-9]+)?)"#, line) { lr = Double(m[0])! }
            if let m = try matches(#"Train net output #(\d+): (\S+) = ([\.\deE+-]+)"#, line), m[1] == "loss" { train[iteration] = (lr, Double(m[2])!) }
            if let m = try matches(#"Test net output #(\d+): (\S+) = ([\.\deE+-]+)"#, line), m[1] == "accuracy" { test[iteration] = Double(m[2])! }
        }
        XCTAssertNotNil(start, "parse_log needs the Solving line for its seconds")
        XCTAssertEqual(train.keys.sorted(), [0, 5, 10, 15])
        // The lr line follows the outputs, so a row carries the previous display's rate, as with Caffe's own logs.
        XCTAssertEqual(train[0]?.lr, -1)
        XCTAssertEqual(train[15]?.lr, 0.05)
        XCTAssertEqual(test.keys.sorted(), [0, 10, 20])
        XCTAssertTrue(test.values.allSatisfy { (0...1).contains($0) })
    }

    func testBadSolverAndDataErrors() throws {
        let solver = try writeSolver()
        try String(contentsOfFile: solver, encoding: .utf8).replacingOccurrences(of: "lr_policy: \"step\"", with: "lr_policy: \"poly\"")
            .write(toFile: solver, atomically: true, encoding: .utf8)
        let r = try CLITests.run(["train", "--solver", solver])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("solver.prototxt:10:14: error: lr_policy \"poly\" needs power"), r.stderr)

        let path = tmp.appendingPathComponent("missing.prototxt").path
        try """
        net_param { name: "m" layer { name: "data" type: "Data" top: "data" top: "label" data_param { source: "/nonexistent/train_lmdb" batch_size: 2 } } }
        base_lr: 0.1 lr_policy: "fixed" max_iter: 1
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let missing = try CLITests.run(["train", "--solver", path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("layer 'data' (Data): cannot read its data: /nonexistent/train_lmdb: error: no such file or folder"),
                      missing.stderr)
    }

    func testConvertIDXComputeMeanAndClassifyRecords() throws {
        let db = tmp.appendingPathComponent("tiny_lmdb").path
        let c = try CLITests.run(["convert-idx", Paths.fixture("idx/tiny-images-idx3-ubyte.gz"), db,
                                  "--labels", Paths.fixture("idx/tiny-labels-idx1-ubyte.gz")])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stderr.contains("wrote 40 records of 1×6×6"), c.stderr)
        let again = try CLITests.run(["convert-idx", Paths.fixture("idx/tiny-images-idx3-ubyte.gz"), db])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)

        let mean = tmp.appendingPathComponent("mean.binaryproto").path
        let m = try CLITests.run(["compute-image-mean", db, mean])
        XCTAssertEqual(m.status, 0, m.stderr)
        let image = try MeanImage.read(path: mean)
        XCTAssertEqual([image.channels, image.height, image.width], [1, 6, 6])
        // Mean at (y, x): the average over i < 40 of (7i + 3y + x) mod 256, worked out directly.
        for (y, x) in [(0, 0), (2, 3), (5, 5)] {
            let expected = Float((0..<40).map { (7 * $0 + 3 * y + x) % 256 }.reduce(0, +)) / 40
            XCTAssertEqual(image.values[y * 6 + x], expected, accuracy: 1e-4)
        }
    }

    func testPlotReadsCaffesOwnLog() throws {
        // Lines as BVLC Caffe (2017) prints them for LeNet.
        let log = tmp.appendingPathComponent("caffe.log").path
        try """
        I0315 10:01:02.123456  4242 solver.cpp:330] Iteration 0, Testing net (#0)
        I0315 10:01:03.000001  4242 solver.cpp:397]     Test net output #0: accuracy = 0.0858
        I0315 10:01:03.000002  4242 solver.cpp:397]     Test net output #1: loss = 2.37 (* 1 = 2.37 loss)
        I0315 10:01:03.100000  4242 solver.cpp:218] Iteration 0 (-1.4e-05 iter/s, 0.12s/100 iters), loss = 2.35
        I0315 10:01:03.100001  4242 solver.cpp:237]     Train net output #0: loss = 2.35 (* 1 = 2.35 loss)
        I0315 10:01:03.100002  4242 sgd_solver.cpp:105] Iteration 0, lr = 0.01
        I0315 10:01:05.200000  4242 solver.cpp:218] Iteration 100 (47.6 iter/s, 2.1s/100 iters), loss = 0.21
        I0315 10:01:07.300000  4242 solver.cpp:447] Snapshotting to binary proto file lenet_iter_200.caffemodel
        I0315 10:01:07.400000  4242 solver.cpp:310] Iteration 200, loss = 0.14
        I0315 10:01:07.400001  4242 solver.cpp:330] Iteration 200, Testing net (#0)
        I0315 10:01:08.000001  4242 solver.cpp:397]     Test net output #0: accuracy = 0.9741
        """.write(toFile: log, atomically: true, encoding: .utf8)
        let c = TrainingCurves.parse(log: try String(contentsOfFile: log, encoding: .utf8), name: "lenet")
        XCTAssertEqual(c.trainLoss.map(\.iteration), [0, 100, 200])
        XCTAssertEqual(c.trainLoss.map(\.value), [2.35, 0.21, 0.14])
        XCTAssertEqual(c.test["accuracy"]?.map(\.iteration), [0, 200])
        XCTAssertEqual(c.test["accuracy"]?.map(\.value), [0.0858, 0.9741])
        XCTAssertEqual(c.test["loss"]?.map(\.value), [2.37])
        let notALog = try CLITests.run(["plot", Paths.model("fashion-mnist/labels.txt"), "-o", tmp.appendingPathComponent("x.svg").path])
        XCTAssertEqual(notALog.status, 1)
        XCTAssertTrue(notALog.stderr.contains("holds no training lines"), notALog.stderr)
    }

    func testCompareTrainsBothWithOneSeedAndWritesThePlot() throws {
        let a = try writeSolver(maxIter: 10)
        let b = tmp.appendingPathComponent("b.prototxt").path
        try String(contentsOfFile: a, encoding: .utf8).replacingOccurrences(of: "name: \"tiny\"", with: "name: \"twin\"")
            .write(toFile: b, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("cmp").path
        let r = try CLITests.run(["compare", "--solver", a, "--solver", b, "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The same net, seed and data: identical results, and full agreement.
        XCTAssertTrue(r.stdout.contains("| iterations "), r.stdout)
        XCTAssertTrue(r.stdout.contains("Top-1 agreement on 40 test items: 100.00% (40 agree)"), r.stdout)
        let loss = r.stdout.split(separator: "\n").first { $0.hasPrefix("| final train loss") }!.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(loss.count, 3, "\(loss)")
        if loss.count == 3 { XCTAssertEqual(loss[1], loss[2]) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/compare.svg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/compare.md"))
    }
}
