import Foundation

/// Where in SwiftCaffe's sources a log line was written ("Solver.swift:192"),
/// for glog's `file:line]` field. Caffe's parsers read the message and the
/// time stamp, never the location, so it names our code, not Caffe's.
public struct LogOrigin: Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int

    /// Pass `#fileID` and `#line` of the call that logs.
    public init(file: StaticString, line: UInt) {
        self.file = "\(file)".split(separator: "/").last.map(String.init) ?? "\(file)"
        self.line = Int(line)
    }

    public var description: String { "\(file):\(line)" }
}

/// Writes the solver's lines as Caffe's glog does
/// (`I1123 18:30:00.123456  4242 Solver.swift:274] Iteration 100 ...`), so
/// the log parsers and plotting scripts written for Caffe (parse_log.py,
/// plot_training_log.py) read them, including the time stamps.
public final class CaffeLogWriter: SolverObserver {
    private let standardError: Bool
    private let files: [LiveFile]
    private let pid = getpid()
    /// Called before and after each line (a progress bar clears and redraws itself).
    public var aroundLine: ((Bool) -> Void)?
    /// The first line a log file could not take (a full disk): the solver stops with it.
    public private(set) var failure: CaffeError?

    /// Lines go to standard error when `standardError`, and to each file.
    public init(standardError: Bool, files: [LiveFile] = []) {
        self.standardError = standardError
        self.files = files
    }

    /// Writes one line; its origin is the caller's file and line.
    public func write(_ message: String, file: StaticString = #fileID, line: UInt = #line) {
        write(message, from: LogOrigin(file: file, line: line))
    }

    public func write(_ message: String, from origin: LogOrigin) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tm()
        var secs = tv.tv_sec
        localtime_r(&secs, &t)
        let prefix = String(format: "I%02d%02d %02d:%02d:%02d.%06d %5d %@] ", t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                            Int32(tv.tv_usec), pid, origin.description)
        let line = prefix + message + "\n"
        aroundLine?(true)
        if standardError { writeStandardError(line) }
        for f in files where failure == nil {
            do { try f.write(line) } catch let e as CaffeError { failure = e } catch {}
        }
        aroundLine?(false)
    }

    public func solver(_ s: Solver, log line: String, from origin: LogOrigin) { write(line, from: origin) }
}

/// `--metrics F.csv` or `.jsonl`: one row per display and per test, written
/// and flushed as it happens (a stopped run keeps every row so far).
public final class MetricsWriter: SolverObserver {
    private let file: LiveFile
    private let jsonLines: Bool
    private var columns: [String] = []
    private var started = false
    /// The first row the file could not take: the solver stops with it.
    public private(set) var failure: CaffeError?

    public init(path: String) throws {
        file = try LiveFile(path)
        jsonLines = path.hasSuffix(".jsonl") || path.hasSuffix(".json")
    }

    private func emit(_ line: String) {
        guard failure == nil else { return }
        do { try file.write(line) } catch let e as CaffeError { failure = e } catch {}
    }

    /// Fixes the CSV columns: test outputs of each test net, by name.
    public func begin(_ s: Solver) {
        guard !jsonLines, !started else { return }
        started = true
        var names: [String] = []
        for (i, t) in s.testNets.enumerated() {
            for b in t.outputBlobNames where !names.contains("test\(i)_\(b)") { names.append("test\(i)_\(b)") }
        }
        columns = names
        emit((["iteration", "seconds", "lr", "train_loss"] + names).joined(separator: ",") + "\n")
    }

    private func row(_ iteration: Int, _ seconds: Double, lr: Float?, loss: Float?, tests: [String: Float]) {
        if jsonLines {
            var parts = ["\"iteration\": \(iteration)", "\"seconds\": \(String(format: "%.3f", seconds))"]
            if let lr { parts.append("\"lr\": \(json(lr))") }
            if let loss { parts.append("\"train_loss\": \(json(loss))") }
            for (k, v) in tests.sorted(by: { $0.key < $1.key }) { parts.append("\"\(k)\": \(json(v))") }
            emit("{" + parts.joined(separator: ", ") + "}\n")
        } else {
            var cells = [String(iteration), String(format: "%.3f", seconds), lr.map { fmt($0) } ?? "", loss.map { fmt($0) } ?? ""]
            cells += columns.map { tests[$0].map { fmt($0) } ?? "" }
            emit(cells.joined(separator: ",") + "\n")
        }
    }

    private func json(_ v: Float) -> String { v.isFinite ? fmt(v) : "null" }

    public func solver(_ s: Solver, displayedIteration iteration: Int, loss: Float, rate: Float, outputs: [Solver.Output], seconds: Double) {
        begin(s)
        row(iteration, seconds, lr: rate, loss: loss, tests: [:])
    }

    public func solver(_ s: Solver, testedAt iteration: Int, net: Int, outputs: [Solver.Output]) {
        begin(s)
        var tests: [String: Float] = [:]
        for o in outputs where tests["test\(net)_\(o.name)"] == nil { tests["test\(net)_\(o.name)"] = o.value }
        row(iteration, s.trainSeconds, lr: nil, loss: nil, tests: tests)
    }
}

extension Net {
    /// Names of the output blobs, in layer order.
    public var outputBlobNames: [String] {
        var names: [String] = []
        let outs = outputBlobs
        for (i, l) in layers.enumerated() {
            for (j, t) in tops(of: i).enumerated() where outs.contains(where: { $0 === t }) && !names.contains(l.parameter.tops[j]) {
                names.append(l.parameter.tops[j])
            }
        }
        return names
    }
}
