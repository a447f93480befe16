import Foundation

/// What a training run is asked to do, as `caffe train`'s flags say it.
public struct TrainingSetup: Sendable {
    public var solverPath: String
    /// Start from these weights (fine-tuning), copied by layer name.
    public var weights: String?
    /// Resume from this solver state.
    public var snapshot: String?
    /// Train this many iterations from where the run starts (0, or the
    /// snapshot's iteration), stopping at max_iter at the latest.
    public var iterations: Int?
    /// Also write the Caffe-format log here.
    public var logFile: String?
    /// Write iteration, lr, loss, test outputs and seconds here (.csv or .jsonl).
    public var metrics: String?
    /// σ of the AlexNet paper's PCA colour noise on TRAIN data.
    public var colorNoise: Float?
    /// Resume from a solver state of another solver type.
    public var force = false
    public var prototxt = PrototxtOptions()

    public init(solverPath: String) { self.solverPath = solverPath }
}

/// A training run set up as `caffe train` sets one up: the solver loaded and
/// checked, outputs that would replace an input refused, weights copied or
/// the state restored, and, in a data-parallel run, every rank joined. Rank 0
/// alone logs, tests and snapshots.
public final class TrainingRun {
    public let setup: TrainingSetup
    public let solver: Solver
    public let log: CaffeLogWriter
    public let group: ProcessGroup?
    public var isRoot: Bool { (group?.rank ?? 0) == 0 }

    /// Sets the run up; `lastSnapshot` (data-parallel runs) starts listening
    /// for snapshots once the solver exists, and `warn` hears what is wrong
    /// but allowed in the solver and net files (on rank 0).
    public init(_ setup: TrainingSetup, group: ProcessGroup? = nil, lastSnapshot: LastSnapshot? = nil,
                warn: (String) -> Void = { _ in }) throws {
        self.setup = setup
        self.group = group
        let isRoot = (group?.rank ?? 0) == 0
        try Self.checkArguments(setup)
        let loaded = try ModelFile.loadSolver(path: setup.solverPath, options: setup.prototxt)
        if let group {
            let net = try ModelFile.trainNet(of: loaded, options: setup.prototxt)
            try DataParallel.checkSameRun(group, [("swiftcaffe binary", try readFile("/proc/self/exe")),
                                                  ("solver file", try readFile(setup.solverPath)),
                                                  ("train net", net.source?.bytes ?? Array(PrototxtPrinter.print(net.message).utf8))])
        }
        // The ranks' files are the same (checked above), so are their warnings: rank 0 says them.
        if isRoot { for w in loaded.warnings { warn(w.rendered(source: nil)) } }
        let inputs = [("solver file", setup.solverPath)] + (setup.weights.map { [("weights file", $0)] } ?? [])
            + (setup.snapshot.map { [("solver state", $0)] } ?? []) + (loaded.netPath.map { [("net file", $0)] } ?? [])
        for (what, path) in [("log file", setup.logFile), ("metrics file", setup.metrics)] {
            if let path { try refuseOverwritingInputs(output: path, what: what, inputs: inputs) }
        }
        log = CaffeLogWriter(standardError: isRoot, files: isRoot ? try setup.logFile.map { [try LiveFile($0)] } ?? [] : [])
        log.write("Initializing solver from parameters: \(setup.solverPath)")
        solver = try Solver(loaded, options: setup.prototxt)
        for w in solver.warnings { log.write("warning: \(w.message)") }
        if let sigma = setup.colorNoise { try solver.enableColorNoise(sigma: sigma) }
        solver.observers.append(log)
        if let m = setup.metrics, isRoot { solver.observers.append(try MetricsWriter(path: m)) }
        let net = solver.net
        log.write("Training net: \(net.graph.name), \(net.learnableParams.count) parameter blobs, "
                  + "\(net.learnableParams.reduce(0) { $0 + $1.count }) values; \(solver.testNets.count) test net(s)")
        log.write("Threads: \(Parallel.threads); BLAS: \(BLAS.summary)")
        try start(isRoot: isRoot)
        // Rank 0's weights and state go to every rank; each reads its shard of the data.
        if let group { try solver.join(group) }
        if let lastSnapshot { solver.observers.append(lastSnapshot) }
    }

    /// Iterations this run will train, for a progress display.
    public var plannedIterations: Int { setup.iterations.map { min(solver.parameter.maxIter, $0) } ?? solver.parameter.maxIter }

    /// Trains, then logs how long the net waited for data and for the other ranks.
    public func train() throws {
        try solver.solve(maxIterations: setup.iterations)
        let s = solver
        if let wait = s.communicationWait {
            log.write(String(format: "Data parallel: waited %.3f s for the gradient sums of the other ranks (%.2f%% of %.1f s training)",
                             wait.seconds, 100 * wait.share, s.trainSeconds))
        }
        let waits = s.net.dataWaitSeconds
        if waits.batches > 0 {
            log.write(String(format: "Data: %d batches; the net waited %.3f s for data in total (%.2f%% of %.1f s training)",
                             waits.batches, waits.seconds, 100 * waits.seconds / max(s.trainSeconds, 1e-9), s.trainSeconds))
        }
    }

    private static func checkArguments(_ setup: TrainingSetup) throws {
        if let i = setup.iterations, i < 0 { throw CaffeError.usage("the iteration count must be >= 0, found \(i)") }
        if setup.weights != nil, setup.snapshot != nil {
            throw CaffeError.usage("give weights to start from or a snapshot to resume, not both")
        }
        if let s = setup.snapshot, s.hasSuffix(".caffemodel") {
            throw CaffeError.usage("the snapshot \(s) is a .caffemodel (weights); a run resumes from a .solverstate. "
                                   + "To start from these weights, fine-tune from them")
        }
    }

    /// Fine-tuning's weights or a resumed state, on rank 0.
    private func start(isRoot: Bool) throws {
        if let w = setup.weights, isRoot {
            log.write("Finetuning from \(w)")
            let report = try solver.copyWeights(from: w)
            if !report.missing.isEmpty { log.write("layers not in \(w), left as initialised: \(report.missing.joined(separator: ", "))") }
        }
        if let r = setup.snapshot, isRoot {
            try solver.restore(from: r, force: setup.force)
        }
        // Fine-tuning from P_iter_N with the same solver would write P_iter_N again, over the start.
        if let w = setup.weights, let over = solver.snapshot(over: w, maxIterations: setup.iterations) {
            throw CaffeError.usage("this run would write its snapshot \(over) over \(w), which it starts from; "
                                   + "copy the weights elsewhere or change snapshot_prefix")
        }
    }
}

/// The newest snapshot of a run, readable from a signal handler while the
/// training thread writes the next one.
public final class LastSnapshot: SolverObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var state: String?

    public init() {}

    public func solver(_ s: Solver, snapshotted model: String, state: String) {
        lock.lock()
        self.state = state
        lock.unlock()
    }

    public var hasSnapshot: Bool {
        lock.lock(); defer { lock.unlock() }
        return state != nil
    }

    /// Where to resume from, as a command: `mpirun` for a data-parallel run
    /// (`ranks` > 1); `resumedFrom` is the state this run started from.
    public func resumeHint(ranks: Int, solver: String, resumedFrom: String? = nil) -> String {
        lock.lock(); defer { lock.unlock() }
        guard let state else {
            return "No snapshot was written in this run; "
                + (resumedFrom.map { "it can resume again from \($0)." } ?? "training restarts from the beginning.")
        }
        if ranks <= 1 { return "Last snapshot: \(state). Resume with: swiftcaffe train --solver \(solver) --snapshot \(state)" }
        return "Last snapshot: \(state). Resume with: mpirun -np \(ranks) swiftcaffe train --solver \(solver) --snapshot \(state) "
            + "(any rank count whose steps divide the records read so far)"
    }
}

extension DataParallel {
    /// Runs `body` on this rank. An error ends every rank (the others may be
    /// waiting for this one inside a sum), after `report` says it: on rank 0
    /// with where the run can resume, elsewhere with the rank's number.
    public static func run(_ group: ProcessGroup, lastSnapshot: LastSnapshot, solverPath: String,
                           report: (String) -> Void, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            let text = (error as? CaffeError)?.description ?? "\(error)"
            if group.rank == 0 {
                report(text + (lastSnapshot.hasSnapshot ? "\n" + lastSnapshot.resumeHint(ranks: group.size, solver: solverPath) : ""))
            } else {
                report("rank \(group.rank): " + text)
            }
            abort(group, code: (error as? CaffeError).map { if case .usage = $0 { 2 } else { 1 } } ?? 1)
        }
        finish(group)
    }
}
