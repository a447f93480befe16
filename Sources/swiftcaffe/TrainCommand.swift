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
            help: "Train this many iterations from where the run starts (0, or the --snapshot's iteration), stopping at max_iter at the latest.")
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
        try runtime.apply()
        if let i = iterations, i < 0 { throw CaffeError.usage("--iterations must be >= 0, found \(i)") }
        if weights != nil, snapshot != nil {
            throw CaffeError.usage("give --weights (start from weights) or --snapshot (resume a run), not both")
        }
        if let s = snapshot, s.hasSuffix(".caffemodel") {
            throw CaffeError.usage("--snapshot \(s) is a .caffemodel (weights); --snapshot resumes from a .solverstate. "
                                   + "To start from these weights, use --weights \(s)")
        }
        if let sigma = pcaNoise, !(sigma > 0) { throw CaffeError.usage("--pca-noise must be > 0, found \(sigma)") }
        var setup = TrainingSetup(solverPath: solver)
        (setup.weights, setup.snapshot, setup.iterations) = (weights, snapshot, iterations)
        (setup.logFile, setup.metrics, setup.colorNoise, setup.force, setup.prototxt) = (logFile, metrics, pcaNoise, force, parse.prototxt)
        // Under mpirun with several ranks: data-parallel training (MPI build).
        guard let group = try DataParallel.launch() else {
            let last = LastSnapshot()
            if try train(setup, group: nil, lastSnapshot: last) {
                note(last.resumeHint(ranks: 1, solver: solver, resumedFrom: snapshot))
                throw ExitCode(130)
            }
            return
        }
        var signalled = false
        let last = LastSnapshot()
        DataParallel.run(group, lastSnapshot: last, solverPath: solver, report: note) {
            signalled = try train(setup, group: group, lastSnapshot: last)
        }
        if signalled { throw ExitCode(130) }
    }

    /// Trains; true when a signal stopped the run.
    private func train(_ setup: TrainingSetup, group: ProcessGroup?, lastSnapshot: LastSnapshot?) throws -> Bool {
        // What differs between machines is said by every rank, with its number.
        if group != nil, let w = BLAS.kernelWarning { note(rankPrefix + w) }
        let run = try TrainingRun(setup, group: group, lastSnapshot: lastSnapshot, warn: note)
        let s = run.solver
        let progress = run.isRoot ? ProgressBar(total: run.plannedIterations) : nil
        if let progress {
            s.observers.append(progress)
            run.log.aroundLine = { before in before ? progress.clear() : progress.draw() }
        }
        let stop = StopFlag(effect: sigintEffect)
        if let group, let lastSnapshot {
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
            try run.train()
        } catch let e as CaffeError {
            progress?.clear()
            if case .diverged = e { note("(the weights are unchanged since iteration \(s.iteration); no snapshot was written for the diverged state)") }
            throw e
        }
        progress?.finish()
        return stop.signalled
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

/// The line on stderr that progress displays redraw, when there is a
/// person to see it: stderr a terminal, and not in CI.
enum ProgressLine {
    static let isShown = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil

    /// Clears the line and writes `text` in its place.
    static func write(_ text: String) { FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8)) }
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
final class ProgressBar: SolverObserver {
    private let total: Int
    private let start = DispatchTime.now().uptimeNanoseconds
    private var iteration = 0
    private var loss: Float = 0
    private var first = -1

    init?(total: Int) {
        guard ProgressLine.isShown else { return nil }
        self.total = total
    }

    func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float) {
        if first < 0 { first = iteration - 1 }
        self.iteration = iteration
        self.loss = loss
        draw()
    }

    func clear() { ProgressLine.write("") }

    func draw() {
        guard first >= 0 else { return }
        let done = max(0, iteration - first), left = max(0, total - iteration)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let eta = done > 0 ? elapsed / Double(done) * Double(left) : 0
        let width = 30
        let filled = total > 0 ? min(width, width * iteration / total) : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        ProgressLine.write(String(format: "[%@] %d/%d  loss %.4g  ETA %dm%02ds", bar, iteration, total, loss, Int(eta) / 60, Int(eta) % 60))
    }

    func finish() { clear() }
}

/// A status line on stderr that appears once a command has run `after`
/// seconds, only when stderr is a terminal (not in CI or a log file).
final class StatusLine {
    private let start = DispatchTime.now().uptimeNanoseconds
    private let delay: Double
    private var shown = false

    init(after seconds: Double) { delay = seconds }

    func show(_ text: String) {
        guard ProgressLine.isShown, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 >= delay else { return }
        ProgressLine.write(text)
        shown = true
    }

    func clear() {
        if shown { ProgressLine.write("") }
    }
}
