import Foundation
import XCTest
@testable import SwiftCaffe

/// `mpirun -np 2 swiftcaffe train` (issue 8) as a user runs it, with the MPI
/// build named by SWIFTCAFFE_MPI_BINARY (`make test-mpi` builds it and sets
/// it; without it these tests are skipped, so `make test` needs no MPI).
final class MPITests: XCTestCase {
    var tmp: URL!
    static let mpirun = "/usr/bin/mpirun"

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.mpirun) else { throw XCTSkip("Open MPI is not installed (make test-mpi installs it)") }
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let tmp { try? FileManager.default.removeItem(at: tmp) } }

    private func mpiBinary() throws -> String {
        guard let b = ProcessInfo.processInfo.environment["SWIFTCAFFE_MPI_BINARY"], FileManager.default.isExecutableFile(atPath: b) else {
            throw XCTSkip("SWIFTCAFFE_MPI_BINARY is not set to the MPI build (make test-mpi)")
        }
        return b
    }

    /// A solver over the tiny IDX fixture (40 records of 6×6): a convolution
    /// and an inner product, SGD with momentum, weight decay and a step policy.
    private func solver(batch: Int, prefix: String, baseLR: String = "0.1", schedule: String = "display: 5 max_iter: 20 snapshot: 10") throws -> String {
        let path = tmp.appendingPathComponent("\(prefix).prototxt").path
        try """
        net_param {
          name: "tiny"
          layer { name: "data" type: "Data" top: "data" top: "label" transform_param { scale: 0.00390625 }
                  data_param { source: "\(Paths.fixture("idx/tiny-images-idx3-ubyte.gz"))" batch_size: \(batch) } }
          layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
                  convolution_param { num_output: 8 kernel_size: 3 weight_filler { type: "xavier" } } }
          layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
          layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip" inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
          layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
        }
        base_lr: \(baseLR) lr_policy: "step" gamma: 0.5 stepsize: 10 momentum: 0.9 weight_decay: 0.0005
        \(schedule) snapshot_prefix: "\(tmp.path)/\(prefix)"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a command (killed after 120 s: a hung collective must fail the test, not stall CI).
    private func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["120"] + args
        p.environment = ProcessInfo.processInfo.environment.merging(
            ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"]) { _, new in new }
        let (out, err) = (Pipe(), Pipe())
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Both pipes drain at once, so a child filling one cannot block.
        final class Box: @unchecked Sendable { var data = Data() }
        let stdout = Box(), reader = DispatchGroup()
        DispatchQueue.global().async(group: reader) { stdout.data = out.fileHandleForReading.readDataToEndOfFile() }
        let data = err.fileHandleForReading.readDataToEndOfFile()
        reader.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: stdout.data, as: UTF8.self), stderr: String(decoding: data, as: UTF8.self))
    }

    private func train(ranks: Int, _ binary: String, _ arguments: [String]) throws -> Run {
        let r = try run(ranks == 1 ? [binary, "train"] + arguments : [Self.mpirun, "-np", "\(ranks)", binary, "train"] + arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r
    }

    /// Largest difference of any weight between two snapshots, relative to that blob's largest value.
    private func difference(_ a: String, _ b: String) throws -> Float {
        let (x, y) = (try CaffeModel(path: a), try CaffeModel(path: b))
        XCTAssertEqual(x.layers.map(\.name), y.layers.map(\.name))
        var worst: Float = 0
        for (l, m) in zip(x.layers, y.layers) {
            for (p, q) in zip(l.blobs, m.blobs) {
                let (u, v) = (p.values, q.values)
                let scale = u.map(abs).max() ?? 1
                worst = max(worst, zip(u, v).map { abs($0 - $1) }.max()! / scale)
            }
        }
        return worst
    }

    /// The smoothed losses rank 0 (or the one process) logged at display iterations.
    private func losses(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains(" iter/s, "), let r = line.range(of: "loss = ") else { return nil }
            return String(line[r.upperBound...])
        }
    }

    func testTwoRanksTrainAsOneProcessWithTheCombinedBatch() throws {
        let bin = try mpiBinary()
        let one = try train(ranks: 1, bin, ["--solver", try solver(batch: 8, prefix: "one")])
        let two = try train(ranks: 2, bin, ["--solver", try solver(batch: 4, prefix: "two")])
        // Same weights after 20 iterations within float summation order: 7e-7 measured.
        XCTAssertLessThan(try difference(tmp.appendingPathComponent("one_iter_20.caffemodel").path,
                                         tmp.appendingPathComponent("two_iter_20.caffemodel").path), 1e-5)
        XCTAssertEqual(losses(one.stderr), losses(two.stderr))
        XCTAssertEqual(losses(two.stderr).count, 4)
        // Rank 0 alone logs, and says how the batch adds up.
        XCTAssertTrue(two.stderr.contains("Data parallel: 2 ranks × batch 4 = effective batch 8"), two.stderr)
        XCTAssertEqual(two.stderr.components(separatedBy: "Optimization Done.").count - 1, 1, two.stderr)
        XCTAssertTrue(two.stderr.contains("Gradient sums: waited"), two.stderr)
        XCTAssertTrue(two.stderr.contains("Data parallel: waited"), two.stderr)
    }

    func testResumingWithAnotherRankCountContinuesTheSameRun() throws {
        let bin = try mpiBinary()
        let (b8, b4) = (try solver(batch: 8, prefix: "one"), try solver(batch: 4, prefix: "two"))
        // The uninterrupted run: one process, 20 iterations.
        _ = try train(ranks: 1, bin, ["--solver", b8])
        let reference = tmp.appendingPathComponent("reference.caffemodel").path
        try FileManager.default.moveItem(atPath: tmp.appendingPathComponent("one_iter_20.caffemodel").path, toPath: reference)
        // Its snapshot at iteration 10, resumed by two ranks...
        _ = try train(ranks: 2, bin, ["--solver", b4, "--snapshot", tmp.appendingPathComponent("one_iter_10.solverstate").path])
        XCTAssertLessThan(try difference(reference, tmp.appendingPathComponent("two_iter_20.caffemodel").path), 1e-5)
        // ...and two ranks stopped at iteration 10, resumed by one process.
        _ = try train(ranks: 2, bin, ["--solver", b4, "--iterations", "10"])
        _ = try train(ranks: 1, bin, ["--solver", b8, "--snapshot", tmp.appendingPathComponent("two_iter_10.solverstate").path])
        XCTAssertLessThan(try difference(reference, tmp.appendingPathComponent("one_iter_20.caffemodel").path), 1e-5)
    }

    /// The rank of a process mpirun started, from its environment.
    private func rank(of pid: Int32) -> Int? {
        guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        let entry = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.first { $0.hasPrefix("OMPI_COMM_WORLD_RANK=") }
        return entry.flatMap { Int($0.dropFirst("OMPI_COMM_WORLD_RANK=".count)) }
    }

    /// The processes whose command line holds `marker`.
    private func processes(_ marker: String) -> [Int32] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ids.compactMap(Int32.init).filter { pid in
            let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
            return cmd.contains(marker) && !cmd.contains("mpirun") && !cmd.hasPrefix("timeout")
        }
    }

    func testALostRankStopsTheOthersAndTheRunResumesFromTheLastSnapshot() throws {
        let bin = try mpiBinary()
        let long = try solver(batch: 4, prefix: "long", schedule: "display: 0 max_iter: 100000000 snapshot: 500")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.mpirun)
        p.arguments = ["-np", "2", bin, "train", "--solver", long]
        p.environment = ProcessInfo.processInfo.environment.merging(["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]) { _, n in n }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Wait for a snapshot, then kill rank 1 as a crash would.
        let first = tmp.appendingPathComponent("long_iter_500.solverstate").path
        let start = Date()
        while !FileManager.default.fileExists(atPath: first), Date().timeIntervalSince(start) < 60 { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: first), "no snapshot within 60 s")
        let ranks = processes(long)
        let victim = try XCTUnwrap(ranks.first { rank(of: $0) == 1 }, "rank 1 among \(ranks)")
        let killedAt = Date()
        kill(victim, SIGKILL)
        let log = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = String(decoding: log, as: UTF8.self)
        // The job ends within a bounded time (2 s measured), naming the lost rank and the snapshot to resume from.
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 30)
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(stderr.contains("mpirun noticed that process rank 1"), stderr)
        let hint = try XCTUnwrap(stderr.range(of: "Last snapshot: "), stderr)
        let named = String(stderr[hint.upperBound...].prefix { $0 != " " }.dropLast())
        XCTAssertTrue(named.hasSuffix(".solverstate") && FileManager.default.fileExists(atPath: named), named)
        XCTAssertTrue(processes(long).isEmpty, "no rank is left running")
        // Restarting from it with another rank count continues.
        let resumed = try train(ranks: 1, bin, ["--solver", long, "--snapshot", named, "--iterations", "10"])
        XCTAssertTrue(resumed.stderr.contains("Resuming from \(named)"), resumed.stderr)
    }

    /// Two "machines" without a cluster: network namespaces joined by a veth
    /// pair, one rank in each, training over TCP between them with the
    /// command a user runs on two hosts (`mpirun --host A,B`). mpirun starts
    /// the second rank through `ip netns exec` where it would use ssh.
    func testTwoRanksInTwoNetworkNamespacesTrainOverTCP() throws {
        let bin = try mpiBinary()
        guard getuid() == 0, let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("network namespaces need root and iproute2")
        }
        let tag = "\(getpid() % 100_000)"
        let (a, b) = ("sc\(tag)a", "sc\(tag)b")
        let (hostA, hostB, subnet) = ("10.77.0.1", "10.77.0.2", "10.77.0.0/24")
        func ipRun(_ args: [String]) throws -> Run { try run([ip] + args) }
        // Namespaces go even when the test fails (deleting one deletes its end of the pair).
        defer { for ns in [a, b] { _ = try? ipRun(["netns", "del", ns]) } }
        guard try ipRun(["netns", "add", a]).status == 0 else { throw XCTSkip("cannot create network namespaces here") }
        for step in [["netns", "add", b], ["link", "add", "v\(a)", "type", "veth", "peer", "name", "v\(b)"],
                     ["link", "set", "v\(a)", "netns", a], ["link", "set", "v\(b)", "netns", b],
                     ["-n", a, "addr", "add", "\(hostA)/24", "dev", "v\(a)"], ["-n", b, "addr", "add", "\(hostB)/24", "dev", "v\(b)"],
                     ["-n", a, "link", "set", "v\(a)", "up"], ["-n", b, "link", "set", "v\(b)", "up"],
                     ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"]] {
            let r = try ipRun(step)
            XCTAssertEqual(r.status, 0, "ip \(step.joined(separator: " ")): \(r.stderr)")
            if r.status != 0 { return }
        }
        // mpirun's remote shell: "host command" → the command inside that host's namespace.
        let agent = tmp.appendingPathComponent("netns-rsh").path
        try """
        #!/bin/sh
        host="$1"; shift
        case "$host" in \(hostA)) ns=\(a);; \(hostB)) ns=\(b);; *) echo "netns-rsh: unknown host $host" >&2; exit 1;; esac
        exec \(ip) netns exec "$ns" /bin/sh -c "$*"
        """.write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        func sentBytes() throws -> Int {
            let out = try ipRun(["-n", a, "-s", "link", "show", "v\(a)"]).stdout
            let rows = out.split(separator: "\n").map { $0.split(separator: " ") }
            let tx = try XCTUnwrap(rows.firstIndex { $0.first == "TX:" }, out)
            return Int(rows[tx + 1][0]) ?? 0
        }
        let reference = try solver(batch: 8, prefix: "one")
        _ = try train(ranks: 1, bin, ["--solver", reference])
        let before = try sentBytes()
        let r = try run([ip, "netns", "exec", a, Self.mpirun, "--host", "\(hostA),\(hostB)", "-np", "2",
                         "--mca", "plm_rsh_agent", agent, "--mca", "btl", "self,tcp",
                         "--mca", "btl_tcp_if_include", subnet, "--mca", "oob_tcp_if_include", subnet,
                         bin, "train", "--solver", try solver(batch: 4, prefix: "two")])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The gradients crossed the veth pair: at least 20 iterations × 596 floats from rank 0.
        XCTAssertGreaterThan(try sentBytes() - before, 20 * 596 * 4)
        XCTAssertLessThan(try difference(tmp.appendingPathComponent("one_iter_20.caffemodel").path,
                                         tmp.appendingPathComponent("two_iter_20.caffemodel").path), 1e-5)
    }

    func testRanksWithDifferentFilesAreRefused() throws {
        let bin = try mpiBinary()
        let (a, b) = (try solver(batch: 4, prefix: "a"), try solver(batch: 4, prefix: "b", baseLR: "0.2"))
        let r = try run([Self.mpirun, "-np", "1", bin, "train", "--solver", a, ":", "-np", "1", bin, "train", "--solver", b])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("the ranks do not run the same training: rank 1 has a different solver file than rank 0"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("a_iter_10.caffemodel").path))
    }

    func testABuildWithoutMPIRefusesSeveralRanks() throws {
        let r = try run([Self.mpirun, "-np", "2", CLITests.binary.path, "train", "--solver", try solver(batch: 4, prefix: "plain")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("this swiftcaffe was built without MPI, so each rank would train a model of its own"), r.stderr)
    }
}
