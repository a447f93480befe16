import ArgumentParser
import Dispatch
import Foundation
import SwiftCaffe

enum SignalEffect: String, ExpressibleByArgument, CaseIterable {
    case stop, snapshot, none
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a net from a solver file, like `caffe train` (Caffe's -solver, -weights, -snapshot, -iterations work too).")

    @Option(name: [.customLong("solver"), .customLong("solver", withSingleDash: true)], help: "The solver prototxt.")
    var solver: String

    @Option(name: [.customLong("weights"), .customLong("weights", withSingleDash: true)],
            help: "Start from these weights (.caffemodel, copied by layer name): fine-tuning.")
    var weights: String?

    @Option(name: [.customLong("snapshot"), .customLong("snapshot", withSingleDash: true)],
            help: "Resume from a .solverstate written by a previous run.")
    var snapshot: String?

    @Option(name: [.customLong("iterations"), .customLong("iterations", withSingleDash: true)], parsing: .unconditional,
            help: "Stop after this many iterations (at most max_iter).")
    var iterations: Int?

    @Option(help: "Also write the log (Caffe's format) to this file.")
    var logFile: String?

    @Option(help: "Write iteration, lr, loss, test outputs and seconds to F.csv or F.jsonl.")
    var metrics: String?

    @Option(help: "On SIGINT/SIGTERM: snapshot (write a snapshot, then stop), stop (stop without one), none (keep training).")
    var sigintEffect: SignalEffect = .snapshot

    @Option(parsing: .unconditional, help: "AlexNet's PCA colour noise on TRAIN data: σ of the per-image weights (the paper uses 0.1).")
    var pcaNoise: Float?

    @Flag(help: "Resume even from a solver state of another solver type.")
    var force = false

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var parse: ParseOptions

    func run() throws {
        // Under mpirun with several ranks: data-parallel training (MPI build).
        let group = try DataParallel.launch()
        guard let group else { return try train(group: nil, lastSnapshot: nil) }
        let last = LastSnapshot()
        do {
            try train(group: group, lastSnapshot: last)
        } catch let e as ExitCode {
            DataParallel.finish(group)
            throw e
        } catch {
            // The other ranks may be waiting for this one inside a sum: say
            // what happened and where to resume, then end them all.
            let text = (error as? CaffeError)?.description ?? "\(error)"
            if group.rank == 0 {
                // Where to resume, once training has written something to resume from.
                note(text + (last.hasSnapshot ? "\n" + last.resumeHint(ranks: group.size, solver: solver) : ""))
            } else {
                note("rank \(group.rank): " + text)
            }
            DataParallel.abort(group, code: (error as? CaffeError).map { if case .usage = $0 { 2 } else { 1 } } ?? 1)
        }
        DataParallel.finish(group)
    }

    private func train(group: ProcessGroup?, lastSnapshot: LastSnapshot?) throws {
        let isRoot = (group?.rank ?? 0) == 0
        try runtime.apply()
        if let i = iterations, i < 0 { throw CaffeError.usage("--iterations must be >= 0, found \(i)") }
        if weights != nil, snapshot != nil {
            throw CaffeError.usage("give --weights (start from weights) or --snapshot (resume a run), not both")
        }
        if let s = snapshot, s.hasSuffix(".caffemodel") {
            throw CaffeError.usage("--snapshot \(s) is a .caffemodel (weights); --snapshot resumes from a .solverstate. "
                                   + "To start from these weights, use --weights \(s)")
        }
        let loaded = try ModelFile.loadSolver(path: solver, options: parse.prototxt)
        if let group {
            let net = try ModelFile.trainNet(of: loaded, options: parse.prototxt)
            try DataParallel.checkSameRun(group, [("swiftcaffe binary", try readFile("/proc/self/exe")),
                                                  ("solver file", try readFile(solver)),
                                                  ("train net", net.source?.bytes ?? Array(PrototxtPrinter.print(net.message).utf8))])
        }
        // The ranks' files are the same (checked above), so are their warnings: rank 0 prints them.
        if isRoot { printWarnings(loaded.warnings) }
        // What differs between machines is said by every rank, with its number.
        if let w = BLAS.kernelWarning { note(rankPrefix + w) }
        // Rank 0 alone logs, tests and snapshots.
        let inputs = [("solver file", solver)] + (weights.map { [("weights file", $0)] } ?? []) + (snapshot.map { [("solver state", $0)] } ?? [])
            + (loaded.netPath.map { [("net file", $0)] } ?? [])
        for (what, path) in [("log file", logFile), ("metrics file", metrics)] {
            if let path { try refuseOverwritingInputs(output: path, what: what, inputs: inputs) }
        }
        var files: [LiveFile] = []
        if let f = logFile, isRoot { files.append(try LiveFile(f)) }
        let log = CaffeLogWriter(standardError: isRoot, files: files)
        log.write("Initializing solver from parameters: \(solver)", source: "caffe.cpp:218")
        let s = try Solver(loaded, options: parse.prototxt)
        for w in s.warnings { log.write("warning: \(w.message)", source: "solver.cpp:0") }
        if let sigma = pcaNoise { try s.enableColorNoise(sigma: sigma) }
        s.observers.append(log)
        if let m = metrics, isRoot { s.observers.append(try MetricsWriter(path: m)) }
        let progress = isRoot ? ProgressBar(total: iterations.map { min(s.parameter.maxIter, $0) } ?? s.parameter.maxIter) : nil
        if let progress {
            s.observers.append(progress)
            log.aroundLine = { before in before ? progress.clear() : progress.draw() }
        }
        log.write("Training net: \(s.net.graph.name), \(s.net.learnableParams.count) parameter blobs, "
                  + "\(s.net.learnableParams.reduce(0) { $0 + $1.count }) values; \(s.testNets.count) test net(s)", source: "solver.cpp:48")
        log.write("Threads: \(Parallel.threads); BLAS: \(BLAS.summary)", source: "caffe.cpp:250")
        if let w = weights, isRoot {
            log.write("Finetuning from \(w)", source: "caffe.cpp:254")
            let report = try s.copyWeights(from: w)
            if !report.missing.isEmpty { log.write("layers not in \(w), left as initialised: \(report.missing.joined(separator: ", "))") }
        }
        if let r = snapshot, isRoot {
            log.write("Resuming from \(r)", source: "caffe.cpp:250")
            try s.restore(from: r, force: force)
        }
        // Fine-tuning from P_iter_N with the same solver would write P_iter_N again, over the start.
        if let w = weights, let over = s.snapshot(over: w, maxIterations: iterations) {
            throw CaffeError.usage("this run would write its snapshot \(over) over \(w), which it starts from; "
                                   + "copy the weights elsewhere or change snapshot_prefix")
        }
        // Rank 0's weights and state go to every rank; each reads its shard of the data.
        if let group { try s.join(group) }
        let stop = StopFlag(effect: sigintEffect)
        if let group, let lastSnapshot {
            s.observers.append(lastSnapshot)
            // mpirun ends every rank with SIGTERM when one rank is lost; this
            // rank may be waiting inside a sum and never reach its snapshot,
            // so it says at once where the run can resume.
            let (rank, ranks, solver) = (group.rank, group.size, solver)
            stop.onSignal = { sig in
                note(rank == 0 ? "rank 0: signal \(sig): the job is ending (if a rank was lost, mpirun names it below). "
                                 + lastSnapshot.resumeHint(ranks: ranks, solver: solver)
                               : "rank \(rank): signal \(sig): stopping")
            }
        }
        stop.install()
        s.stopRequest = { stop.request }
        do {
            try s.solve(maxIterations: iterations)
        } catch let e as CaffeError {
            progress?.clear()
            if case .diverged = e { note("(the weights are unchanged since iteration \(s.iteration); no snapshot was written for the diverged state)") }
            throw e
        }
        progress?.finish()
        let waits = s.net.dataWaitSeconds
        if let wait = s.communicationWait {
            log.write(String(format: "Data parallel: waited %.3f s for the gradient sums of the other ranks (%.2f%% of %.1f s training)",
                             wait.seconds, 100 * wait.share, s.trainSeconds), source: "parallel.cpp:0")
        }
        if waits.batches > 0 {
            log.write(String(format: "Data: %d batches; the net waited %.3f s for data in total (%.2f%% of %.1f s training)",
                             waits.batches, waits.seconds, 100 * waits.seconds / max(s.trainSeconds, 1e-9), s.trainSeconds),
                      source: "caffe.cpp:260")
        }
        if stop.signalled { throw ExitCode(130) }
    }
}

/// Sets a stop request on SIGINT/SIGTERM; a second signal ends the process
/// at once (files are always written whole, so nothing is left half-written).
final class StopFlag: @unchecked Sendable {
    let effect: SignalEffect
    /// Called on the first signal, from the signal's queue.
    var onSignal: (@Sendable (Int32) -> Void)?
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private(set) var signalled = false

    init(effect: SignalEffect) { self.effect = effect }

    var request: Solver.StopRequest {
        lock.lock(); defer { lock.unlock() }
        guard signalled else { return .none }
        switch effect {
        case .snapshot: return .snapshotAndStop
        case .stop: return .stop
        case .none: return .none
        }
    }

    func install() {
        guard effect != .none else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [self] in
                lock.lock()
                let again = signalled
                signalled = true
                lock.unlock()
                if again {
                    // At once, from this queue: raise() here would wait on a
                    // thread that blocks the signal.
                    quitOnSignal(sig, "signal \(sig) again: quitting now, without a snapshot")
                }
                if let onSignal { return onSignal(sig) }
                note("\nsignal \(sig) received: " + (effect == .snapshot ? "snapshotting after this iteration, then stopping" : "stopping after this iteration")
                     + " (signal again to quit at once)")
            }
            src.resume()
            sources.append(src)
        }
    }
}

/// The newest snapshot of a data-parallel run, readable from the signal
/// queue while the training thread writes the next one.
final class LastSnapshot: SolverObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var state: String?

    func solver(_ s: Solver, snapshotted model: String, state: String) {
        lock.lock()
        self.state = state
        lock.unlock()
    }

    var hasSnapshot: Bool {
        lock.lock(); defer { lock.unlock() }
        return state != nil
    }

    /// Where to resume from, as a command.
    func resumeHint(ranks: Int, solver: String) -> String {
        lock.lock(); defer { lock.unlock() }
        guard let state else { return "No snapshot was written yet in this run; training restarts from the beginning." }
        return "Last snapshot: \(state). Resume with: mpirun -np \(ranks) swiftcaffe train --solver \(solver) --snapshot \(state) "
            + "(any rank count whose steps divide the records read so far)"
    }
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
final class ProgressBar: SolverObserver {
    private let total: Int
    private let start = DispatchTime.now().uptimeNanoseconds
    private var iteration = 0
    private var loss: Float = 0
    private var first = -1

    init?(total: Int) {
        guard isatty(STDERR_FILENO) == 1, ProcessInfo.processInfo.environment["CI"] == nil else { return nil }
        self.total = total
    }

    func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float) {
        if first < 0 { first = iteration - 1 }
        self.iteration = iteration
        self.loss = loss
        draw()
    }

    func clear() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

    func draw() {
        guard first >= 0 else { return }
        let done = max(0, iteration - first), left = max(0, total - iteration)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let eta = done > 0 ? elapsed / Double(done) * Double(left) : 0
        let width = 30
        let filled = total > 0 ? min(width, width * iteration / total) : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d  loss %.4g  ETA %dm%02ds", bar, iteration, total, loss,
                                                   Int(eta) / 60, Int(eta) % 60).utf8))
    }

    func finish() { clear() }
}
