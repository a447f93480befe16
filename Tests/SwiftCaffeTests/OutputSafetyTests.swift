import Foundation
import XCTest
@testable import SwiftCaffe

/// Outputs never destroy what was there: a symbolic link is written through
/// (the link kept), a device or a pipe is written, not replaced, an output
/// that is an input is refused before anything is written, and a full disk
/// ends the command with the previous file intact and no temporary file left.
final class OutputSafetyTests: XCTestCase {
    var tmp: URL!
    var mounted: String?

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-outputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let m = mounted { _ = try? Self.sh(["umount", m]) }
        try? FileManager.default.removeItem(at: tmp)
    }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }
    static let lenet = "Models/lenet/deploy.prototxt"

    @discardableResult
    static func sh(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A small file system of its own (tmpfs: needs root), to fill up.
    func smallDisk(kib: Int) throws -> String {
        let dir = path("disk")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard getuid() == 0, try Self.sh(["mount", "-t", "tmpfs", "-o", "size=\(kib)k", "tmpfs", dir]) == 0 else {
            throw XCTSkip("mounting a tmpfs needs root; the full-disk cases did not run")
        }
        mounted = dir
        return dir
    }

    /// Fills a file system to its last byte.
    func fill(_ dir: String) throws {
        let f = fopen(dir + "/filler", "wb")
        let block = [UInt8](repeating: 1, count: 4096)
        while fwrite(block, 1, block.count, f) == block.count {}
        fclose(f)
    }

    func leftovers(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".tmp") || $0.contains(".swiftcaffe-") }
    }

    func testSymlinksAreWrittenThroughAndDevicesAndPipesWritten() throws {
        try "old\n".write(toFile: path("target.prototxt"), atomically: true, encoding: .utf8)
        chmod(path("target.prototxt"), 0o640)
        try FileManager.default.createSymbolicLink(atPath: path("link.prototxt"), withDestinationPath: "target.prototxt")
        let r = try CLITests.run(["upgrade", Self.lenet, "-o", path("link.prototxt")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.prototxt")), "target.prototxt", "the link is kept")
        XCTAssertTrue(try String(contentsOfFile: path("target.prototxt"), encoding: .utf8).hasPrefix("# LeNet") ||
                      String(contentsOfFile: path("target.prototxt"), encoding: .utf8).contains("name: \"LeNet\""))
        var st = stat()
        stat(path("target.prototxt"), &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o640, "the replaced file's permissions are kept")

        // A device: written, still the device afterwards.
        let null = try CLITests.run(["upgrade", Self.lenet, "-o", "/dev/null"])
        XCTAssertEqual(null.status, 0, null.stderr)
        stat("/dev/null", &st)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
        // A FIFO: the reader gets the bytes; the FIFO stays a FIFO.
        let fifo = path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.data = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()
            done.signal()
        }
        let piped = try CLITests.run(["upgrade", Self.lenet, "-o", fifo])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        done.wait()
        XCTAssertTrue(String(decoding: box.data, as: UTF8.self).contains("name: \"LeNet\""))
        lstat(fifo, &st)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
        // A directory or a socket is refused.
        let dir = try CLITests.run(["upgrade", Self.lenet, "-o", tmp.path])
        XCTAssertEqual(dir.status, 1)
        XCTAssertTrue(dir.stderr.contains("error: is a directory; an output must be a file, a character device or a pipe"), dir.stderr)
        XCTAssertEqual(leftovers(tmp.path), [])
    }

    func testAnOutputThatIsAnInputIsRefusedBeforeWriting() throws {
        let net = path("net.prototxt")
        try FileManager.default.copyItem(atPath: Paths.root.appendingPathComponent(Self.lenet).path, toPath: net)
        try FileManager.default.linkItem(atPath: net, toPath: path("hard.prototxt"))
        try FileManager.default.createSymbolicLink(atPath: path("soft.prototxt"), withDestinationPath: net)
        try FileManager.default.createSymbolicLink(atPath: path("net.dot"), withDestinationPath: net)
        let before = try readFile(net)
        let weights = Paths.fixture("weights/small_v2.caffemodel")
        try FileManager.default.copyItem(atPath: weights, toPath: path("w.caffemodel"))
        try FileManager.default.copyItem(atPath: Paths.fixture("weights/mean.binaryproto"), toPath: path("m.binaryproto"))
        let idx = Paths.fixture("idx/tiny-images-idx3-ubyte.gz")
        try FileManager.default.copyItem(atPath: idx, toPath: path("tiny-images-idx3-ubyte.gz"))
        try FileManager.default.copyItem(atPath: Paths.fixture("idx/tiny-labels-idx1-ubyte.gz"), toPath: path("tiny-labels-idx1-ubyte.gz"))
        let cases: [([String], String)] = [
            (["deploy", net, "-o", net], "the output \(net) is the train_val net"),
            (["upgrade", net, "-o", path("hard.prototxt")], "is the file being upgraded (\(net), under another name)"),
            (["upgrade", net, "-o", path("soft.prototxt")], "is the file being upgraded"),
            (["forward", "--model", net, "--save-weights", path("hard.prototxt")], "the --save-weights file"),
            (["export-weights", path("w.caffemodel"), "-o", path("w.caffemodel")], "is the weights file"),
            (["mean", path("m.binaryproto"), "--to", path("m.binaryproto")], "is the mean file"),
            (["compute-image-mean", path("tiny-images-idx3-ubyte.gz"), path("tiny-images-idx3-ubyte.gz")], "is the data source"),
            (["draw", net, "-o", path("net.dot")], "is the net file"),
        ]
        for (args, message) in cases {
            let r = try CLITests.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message) && r.stderr.contains("writing it would destroy the input"), "\(args): \(r.stderr)")
        }
        XCTAssertEqual(try readFile(net), before, "the inputs are untouched")
        XCTAssertEqual(try readFile(path("w.caffemodel")), try readFile(weights))
        XCTAssertEqual(try readFile(path("tiny-images-idx3-ubyte.gz")), try readFile(idx))
    }

    func testFineTuningDoesNotWriteASnapshotOverItsStartingWeights() throws {
        let solver = try TrainCLITestsSupport.solver(in: tmp, maxIter: 20)
        XCTAssertEqual(try CLITests.run(["train", "--solver", solver, "--iterations", "10"]).status, 0)
        let start = path("tiny_iter_10.caffemodel")
        let before = try readFile(start)
        let r = try CLITests.run(["train", "--solver", solver, "--weights", start])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: this run would write its snapshot \(start) over \(start), which it starts from"), r.stderr)
        XCTAssertEqual(try readFile(start), before)
        // Copied elsewhere, the same weights fine-tune.
        try FileManager.default.copyItem(atPath: start, toPath: path("start.caffemodel"))
        XCTAssertEqual(try CLITests.run(["train", "--solver", solver, "--weights", path("start.caffemodel"), "--iterations", "2"]).status, 0)
    }

    func testStreamsOnAFullDeviceFailTheCommand() throws {
        // summary > /dev/full, through a shell for the redirection.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\"\(CLITests.binary.path)\" summary \(Self.lenet) > /dev/full"]
        p.currentDirectoryURL = Paths.root
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("error: cannot write to standard output: the disk is full"), text)

        let solver = try TrainCLITestsSupport.solver(in: tmp, maxIter: 20)
        for flag in ["--log-file", "--metrics"] {
            let r = try CLITests.run(["train", "--solver", solver, flag, "/dev/full"])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("/dev/full: error: cannot write: the disk is full (no space left on device)"), r.stderr)
        }
    }

    func testFullDiskKeepsThePreviousSnapshotAndLeavesNoPartialDatabase() throws {
        let disk = try smallDisk(kib: 256)
        let solver = try TrainCLITestsSupport.solver(in: tmp, maxIter: 20, prefix: disk + "/tiny")
        let first = try CLITests.run(["train", "--solver", solver])
        XCTAssertEqual(first.status, 0, first.stderr)
        let kept = try readFile(disk + "/tiny_iter_20.caffemodel")
        let keptState = try readFile(disk + "/tiny_iter_20.solverstate")
        try fill(disk)
        // Resumed at 10, it reaches its snapshot at 20 with the disk full.
        let again = try CLITests.run(["train", "--solver", solver, "--snapshot", disk + "/tiny_iter_10.solverstate"])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("tiny_iter_20.caffemodel: error: cannot write: the disk is full (no space left on device); "
                                            + "the previous file, if any, is left as it was"), again.stderr)
        XCTAssertEqual(try readFile(disk + "/tiny_iter_20.caffemodel"), kept)
        XCTAssertEqual(try readFile(disk + "/tiny_iter_20.solverstate"), keptState)
        XCTAssertEqual(leftovers(disk), [])
        // A database that does not fit is removed, not left half-written.
        unlink(disk + "/filler")
        let r = try CLITests.run(["convert-idx", "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", disk + "/db"])
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") else { return }
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the disk is full"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: disk + "/db"))
    }

    func testResumeWithAPartlyCoveredTestSetGivesTheSameTests() throws {
        // 40 test records, 3 batches of 8 per test: each test starts elsewhere.
        let whole = try TrainCLITestsSupport.solver(in: tmp, maxIter: 20, extra: "test_iter: 3 test_interval: 5", prefix: path("a"))
        let straight = try CLITests.run(["train", "--solver", whole])
        XCTAssertEqual(straight.status, 0, straight.stderr)
        let split = try TrainCLITestsSupport.solver(in: tmp, maxIter: 20, extra: "test_iter: 3 test_interval: 5", prefix: path("b"), name: "b.prototxt")
        XCTAssertEqual(try CLITests.run(["train", "--solver", split, "--iterations", "10"]).status, 0)
        let resumed = try CLITests.run(["train", "--solver", split, "--snapshot", path("b_iter_10.solverstate")])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        func tests(_ log: String, after: Int) -> [String] {
            var out: [String] = [], iteration = -1
            for line in log.split(separator: "\n") {
                if let r = line.range(of: "Iteration "), line.contains("Testing net") {
                    iteration = Int(line[r.upperBound...].prefix { $0.isNumber }) ?? -1
                }
                if line.contains("Test net output"), iteration > after { out.append("\(iteration): " + String(line.split(separator: "]").last!)) }
            }
            return out
        }
        XCTAssertEqual(tests(resumed.stderr, after: 10).count, 4, resumed.stderr)
        XCTAssertEqual(tests(resumed.stderr, after: 10), tests(straight.stderr, after: 10))
    }

    func testASecondSignalQuitsAtOnce() throws {
        let solver = try TrainCLITestsSupport.solver(in: tmp, maxIter: 10_000_000, extra: "snapshot_after_train: false", snapshot: 0)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["train", "--solver", solver]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let reader = PipeReader(err.fileHandleForReading)
        Thread.sleep(forTimeInterval: 1.5)
        // The first asks for a snapshot after the iteration; the second must end the process at once.
        kill(p.processIdentifier, SIGINT)
        Thread.sleep(forTimeInterval: 0.05)
        let sent = Date()
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(sent), 2)
        XCTAssertEqual(p.terminationStatus, 130)
        let text = String(decoding: reader.wait(), as: UTF8.self)
        XCTAssertTrue(text.contains("signal 2 again: quitting now, without a snapshot") || text.contains("Optimization stopped early"), text)
        XCTAssertEqual(leftovers(tmp.path), [])
    }
}
