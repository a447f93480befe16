import Foundation

/// What the solver reports as it trains; the CLI turns these into Caffe's
/// log lines, a metrics file and a progress bar.
public protocol SolverObserver: AnyObject {
    /// A line of Caffe's log, and where SwiftCaffe wrote it.
    func solver(_ s: Solver, log line: String, from origin: LogOrigin)
    /// At display iterations: smoothed loss and the train net's outputs.
    func solver(_ s: Solver, displayedIteration iteration: Int, loss: Float, rate: Float, outputs: [Solver.Output], seconds: Double)
    func solver(_ s: Solver, testedAt iteration: Int, net: Int, outputs: [Solver.Output])
    /// After every iteration (progress bars).
    func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float)
    /// After a snapshot's two files are written.
    func solver(_ s: Solver, snapshotted model: String, state: String)
    /// An observer that could not do its work (a log file on a full disk)
    /// stops the training with this error after the current iteration.
    var failure: CaffeError? { get }
}

public extension SolverObserver {
    func solver(_ s: Solver, log line: String, from origin: LogOrigin) {}
    func solver(_ s: Solver, displayedIteration iteration: Int, loss: Float, rate: Float, outputs: [Solver.Output], seconds: Double) {}
    func solver(_ s: Solver, testedAt iteration: Int, net: Int, outputs: [Solver.Output]) {}
    func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float) {}
    func solver(_ s: Solver, snapshotted model: String, state: String) {}
    var failure: CaffeError? { nil }
}

/// Caffe's Solver and SGDSolver family: builds the train net and the test
/// nets from a solver file (test nets share the train net's weights), runs
/// iterations (forward and backward iter_size times, then clip, normalise,
/// regularise and the update rule, then W −= update), tests, snapshots, and
/// resumes from a solver state.
public final class Solver {
    /// One value of a net output blob, with its loss weight.
    public struct Output: Sendable {
        public var name: String
        public var value: Float
        public var lossWeight: Float
    }

    /// What a stop request asks for, checked between iterations.
    public enum StopRequest: Sendable { case none, stop, snapshotAndStop }

    public let parameter: SolverParameter
    public let solverPath: String
    public let net: Net
    public let testNets: [Net]
    public let rule: UpdateRule
    public let schedule: LearningRateSchedule
    public private(set) var iteration = 0
    public private(set) var currentStep = 0
    public private(set) var smoothedLoss: Float = 0
    public private(set) var lastRate: Float = 0
    public let seed: UInt64
    /// Where snapshots go (P_iter_N.caffemodel): snapshot_prefix, defaulted
    /// from the solver file's name as Caffe does, unless set before training.
    public var snapshotPrefix: String
    public var observers: [SolverObserver] = []
    /// Polled between iterations (signal handlers set it).
    public var stopRequest: () -> StopRequest = { .none }
    /// Files written by snapshots, newest last.
    public private(set) var snapshots: [(model: String, state: String)] = []
    public private(set) var stoppedEarly = false
    /// Seconds spent training (forward, backward, update), without tests.
    public private(set) var trainSeconds = 0.0

    /// The ranks training together (`join`); nil for one process.
    public private(set) var group: ProcessGroup?
    private var exchange: GradientExchange?
    /// Rank 0 (or the only process) tests, snapshots and logs.
    public var isRoot: Bool { (group?.rank ?? 0) == 0 }
    /// Seconds spent waiting for the gradient sums after backward, and the
    /// share of training time that is (data-parallel training).
    public var communicationWait: (seconds: Double, share: Double)? {
        exchange.map { ($0.waitSeconds, $0.waitSeconds / Swift.max(trainSeconds, 1e-9)) }
    }

    private var history: [Blob] = []
    private var recentLosses: [Float] = []
    private var lossesForHint: [(Int, Float)] = []

    /// Builds the nets of a solver file. Problems in the solver's settings
    /// are all reported before anything runs.
    /// `externalLayers` makes the nets' Python layers (the Python module's solvers).
    public init(_ loaded: LoadedSolver, options: PrototxtOptions = .init(), seedOverride: UInt64? = nil,
                externalLayers: (any ExternalLayerMaker)? = nil) throws {
        parameter = loaded.solver
        solverPath = loaded.path
        let p = loaded.solver
        let m = Caffe.SolverParameter(loaded.message)

        // Nets: the train net, then explicit test nets, then the generic
        // net in the TEST phase for the remaining test_iter entries.
        let trainLoaded = try ModelFile.trainNet(of: loaded, options: options)
        var testLoaded: [LoadedNet] = []
        for tm in p.testNetParams { testLoaded.append(try ModelFile.loadNet(message: tm)) }
        for (i, name) in p.testNets.enumerated() {
            let candidates = ModelFile.candidatePaths(name, near: loaded.path)
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw CaffeError.at(m.location(of: .testNet, at: i), "test_net file \"\(name)\" was not found; looked at: "
                                    + candidates.joined(separator: ", "))
            }
            testLoaded.append(try ModelFile.loadNet(path: found, options: options))
        }
        if p.net != nil || p.netParam != nil {
            while testLoaded.count < p.testIter.count { testLoaded.append(trainLoaded) }
        }
        var problems = SolverCheck.problems(p, testNetCount: testLoaded.count)
        try Self.checkSnapshotFolder(p, solverPath: loaded.path, problems: &problems)
        let errors = problems.filter { $0.severity == .error }
        if !errors.isEmpty { throw CaffeError.diagnostics(errors, source: SourceText(name: loaded.path, bytes: (try? readFile(loaded.path)) ?? [])) }
        warnings = problems.filter { $0.severity != .error }

        seed = seedOverride ?? (p.randomSeed >= 0 ? UInt64(p.randomSeed) : 1701)
        schedule = LearningRateSchedule(p)
        rule = UpdateRule(p)
        snapshotPrefix = Self.defaultPrefix(p, solverPath: loaded.path)

        let trainState = NetState(m.trainState, phase: .train)
        net = try Self.build(trainLoaded, state: trainState, seed: seed, externalLayers: externalLayers)
        // Caffe would run such a net and print loss 0 forever: nothing to minimise.
        let netLocation = trainLoaded.message.location ?? (m.has(.net) ? m.location(of: .net) : m.has(.netParam) ? m.location(of: .netParam) : m.location)
        if net.layers.isEmpty {
            throw CaffeError.at(netLocation, "the training net has no layers in the TRAIN phase (check the include/exclude rules): there is nothing to train")
        }
        if net.lossOutputs.isEmpty {
            throw CaffeError.at(netLocation, "the training net '\(net.graph.name)' has no loss: no layer is a loss layer or sets loss_weight, "
                                + "so training would change nothing; add a loss layer (e.g. SoftmaxWithLoss)")
        }
        var tests: [Net] = []
        let testStates = m.testState
        for (i, l) in testLoaded.enumerated() {
            let state = i < testStates.count ? NetState(testStates[i], phase: .test) : NetState(phase: .test)
            let t = try Self.build(l, state: state, seed: seed &+ UInt64(i + 1), externalLayers: externalLayers)
            try t.shareParameters(with: net)
            tests.append(t)
        }
        testNets = tests
        history = (0..<rule.historyPerParameter).flatMap { _ in net.learnableParams.map { Blob($0.shape) } }
        lastRate = Float(p.baseLR)
    }

    /// Warnings found in the solver's settings (the CLI prints them).
    public private(set) var warnings: [Diagnostic] = []

    static func build(_ loaded: LoadedNet, state: NetState, seed: UInt64, externalLayers: (any ExternalLayerMaker)?) throws -> Net {
        try loaded.net(.init(state: state), seed: seed, externalLayers: externalLayers)
    }

    static func defaultPrefix(_ p: SolverParameter, solverPath: String) -> String {
        let stem = ((solverPath as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let prefix = p.snapshotPrefix, !prefix.isEmpty else {
            return ((solverPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(stem)
        }
        return prefix.hasSuffix("/") ? prefix + stem : prefix
    }

    /// Caffe's CheckSnapshotWritePermissions, before training rather than at the first snapshot.
    static func checkSnapshotFolder(_ p: SolverParameter, solverPath: String, problems: inout [Diagnostic]) throws {
        guard p.snapshot > 0 || p.snapshotAfterTrain else { return }
        let prefix = defaultPrefix(p, solverPath: solverPath)
        let dir = (prefix as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) || !isDir.boolValue {
            problems.append(Diagnostic(.error, "snapshot_prefix \"\(prefix)\": the folder \"\(folder)\" does not exist; create it first",
                                       at: p.proto.location(of: .snapshotPrefix)))
        } else if access(folder, W_OK) != 0 {
            problems.append(Diagnostic(.error, "snapshot_prefix \"\(prefix)\": the folder \"\(folder)\" is not writable",
                                       at: p.proto.location(of: .snapshotPrefix)))
        }
    }

    private func log(_ text: String, file: StaticString = #fileID, line: UInt = #line) {
        let origin = LogOrigin(file: file, line: line)
        for o in observers { o.solver(self, log: text, from: origin) }
    }

    /// Tells the observers of a display iteration: smoothed loss, rate and the train net's outputs.
    private func notifyDisplayed(rate: Float) {
        let outputs = trainOutputs()
        for o in observers {
            o.solver(self, displayedIteration: iteration, loss: smoothedLoss, rate: rate, outputs: outputs, seconds: trainSeconds)
        }
    }

    // MARK: Training

    /// Caffe's Solve: steps to max_iter, snapshots after training, a last
    /// display and test, "Optimization Done.".
    public func solve(maxIterations: Int? = nil) throws {
        let target = maxIterations.map { min(parameter.maxIter, iteration + $0) } ?? parameter.maxIter
        let start = iteration
        log("Solving \(net.graph.name)")
        log("Learning Rate Policy: \(parameter.lrPolicy?.rawValue ?? "")")
        // Lower case: log parsers take every "Iteration N" for a new row.
        log("Training from iteration \(start) to \(target)" + (target < parameter.maxIter ? " (max_iter is \(parameter.maxIter))" : ""))
        try step(target - iteration)
        if stoppedEarly {
            log("Optimization stopped early.")
            return
        }
        if isRoot, parameter.snapshotAfterTrain, parameter.snapshot == 0 || iteration % parameter.snapshot != 0 {
            try snapshot()
        }
        if parameter.display > 0, iteration % parameter.display == 0 {
            net.reseed(step: UInt64(iteration) &* UInt64(parameter.iterSize))
            // As Caffe: the last loss joins the smoothing window, and the smoothed value is shown.
            updateSmoothedLoss(try net.forward(), start: start)
            log("Iteration \(iteration), loss = \(fmt(smoothedLoss))")
            notifyDisplayed(rate: schedule.rate(at: iteration, currentStep: &currentStep))
        }
        if isRoot, parameter.testInterval > 0, iteration % parameter.testInterval == 0 { try testAll() }
        log("Optimization Done.")
        if let f = observers.lazy.compactMap(\.failure).first { throw f }
    }

    /// Caffe's Step: `count` iterations.
    public func step(_ count: Int) throws {
        let start = iteration, stop = iteration + count
        var clock = DisplayClock(time: DispatchTime.now().uptimeNanoseconds, iteration: iteration, wait: exchange?.waitSeconds ?? 0)
        recentLosses.removeAll()
        while iteration < stop {
            if isRoot, parameter.testInterval > 0, iteration % parameter.testInterval == 0, iteration > 0 || parameter.testInitialization {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try testAll()
                // Testing time does not count against the training speed.
                clock.time += DispatchTime.now().uptimeNanoseconds - t0
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = try computeGradients()
            try checkFinite(loss: loss)
            updateSmoothedLoss(loss, start: start)
            lossesForHint.append((iteration, smoothedLoss))
            if lossesForHint.count > 64 { lossesForHint.removeFirst(lossesForHint.count - 64) }
            let display = parameter.display > 0 && iteration % parameter.display == 0
            if display { logDisplay(since: &clock) }
            let rate = try applyUpdate(display: display)
            if display { notifyDisplayed(rate: rate) }
            iteration += 1
            trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            for o in observers { o.solver(self, finishedIteration: iteration, loss: smoothedLoss) }
            if let f = observers.lazy.compactMap(\.failure).first { throw f }

            let request = try agreedStopRequest()
            if isRoot, (parameter.snapshot > 0 && iteration % parameter.snapshot == 0) || request == .snapshotAndStop {
                try snapshot()
            }
            if request != .none {
                stoppedEarly = true
                break
            }
        }
    }

    /// One iteration's iter_size forward and backward passes, the gradients
    /// summed across ranks in a data-parallel run; returns the mean loss.
    private func computeGradients() throws -> Float {
        net.clearParamDiffs()
        var loss: Float = 0
        for s in 0..<parameter.iterSize {
            net.reseed(step: UInt64(iteration) &* UInt64(parameter.iterSize) &+ UInt64(s))
            loss += try net.forward()
            if let exchange, s == parameter.iterSize - 1 {
                exchange.begin()
                try net.backward(afterLayer: exchange.layerDone)
            } else {
                try net.backward()
            }
        }
        loss /= Float(parameter.iterSize)
        if let exchange { loss = try exchange.finish(loss: loss) }
        return loss
    }

    /// When, at which iteration and after how much waiting for other ranks the last display line was written.
    private struct DisplayClock {
        var time: UInt64
        var iteration: Int
        var wait: Double
    }

    /// Caffe's display lines: speed and smoothed loss, the wait for the
    /// other ranks, and the train net's outputs.
    private func logDisplay(since clock: inout DisplayClock) {
        let now = DispatchTime.now().uptimeNanoseconds
        let lapse = Double(now - clock.time) / 1e9
        let perSecond = Double(iteration - clock.iteration) / (lapse > 0 ? lapse : 1)
        log("Iteration \(iteration) (\(fmt(Float(perSecond))) iter/s, \(fmt(Float(lapse)))s/\(parameter.display) iters), loss = \(fmt(smoothedLoss))")
        if let exchange {
            let waited = exchange.waitSeconds - clock.wait
            log(String(format: "    Gradient sums: waited %.1f ms per iteration for the other ranks (%.1f%% of the iteration)",
                       1000 * waited / Double(max(1, iteration - clock.iteration)), 100 * waited / (lapse > 0 ? lapse : 1)))
            clock.wait = exchange.waitSeconds
        }
        clock.time = now
        clock.iteration = iteration
        for (k, o) in trainOutputs().enumerated() {
            let weighted = o.lossWeight != 0 ? " (* \(fmt(o.lossWeight)) = \(fmt(o.lossWeight * o.value)) loss)" : ""
            log("    Train net output #\(k): \(o.name) = \(fmt(o.value))\(weighted)")
        }
    }

    /// The stop request, the same on every rank: the strongest any rank has
    /// (a signal reaches one rank, or mpirun's reaches all at once).
    private func agreedStopRequest() throws -> StopRequest {
        let local = stopRequest()
        guard let group else { return local }
        let code: Int32 = local == .snapshotAndStop ? 2 : (local == .stop ? 1 : 0)
        switch try group.max(code) {
        case 2: return .snapshotAndStop
        case 1: return .stop
        default: return .none
        }
    }

    // MARK: Data parallel

    /// Trains with the other ranks of `group` from here on: rank 0's state
    /// (weights, history, iteration, data position) goes to every rank, each
    /// rank's train data layers read their shard of every source, and the
    /// gradients are summed after each backward.
    public func join(_ group: ProcessGroup) throws {
        precondition(self.group == nil, "a solver joins one group")
        self.group = group
        for l in net.dataStreams { l.shard(rank: group.rank, of: group.size) }
        for l in net.layers {
            for p in l.params { try group.broadcast(UnsafeMutableRawPointer(p.data), bytes: p.count * 4) }
        }
        for h in history { try group.broadcast(UnsafeMutableRawPointer(h.data), bytes: h.count * 4) }
        // Iteration, lr step and the records each data layer has consumed
        // (rank 0 still counts as one process here).
        let layers = net.dataStreams
        var counters = [Int64(iteration), Int64(currentStep)] + layers.map { Int64($0.batchesRead * $0.batchSize) }
        try counters.withUnsafeMutableBytes { try group.broadcast($0.baseAddress!, bytes: $0.count) }
        iteration = Int(counters[0])
        currentStep = Int(counters[1])
        for (l, records) in zip(layers, counters.dropFirst(2)) {
            l.restart(atBatch: try Self.batches(records: Int(records), of: l, ranks: group.size))
        }
        exchange = GradientExchange(net: net, group: group)
        let batch = layers.first?.batchSize
        log("Data parallel: \(group.size) ranks" + (batch.map { " × batch \($0) = effective batch \($0 * group.size)" } ?? "")
            + "; gradients summed across ranks and divided by \(group.size), as Caffe's multi-GPU training")
    }

    /// The batch each rank continues at after `records` records of a data
    /// layer: they must be a whole number of steps of all ranks together.
    static func batches(records: Int, of layer: any DataStream, ranks: Int) throws -> Int {
        let step = layer.batchSize * ranks
        guard records % step == 0 else {
            throw CaffeError.usage("data layer '\(layer.name)' stopped after \(records) records, which is not a whole number of steps of "
                                   + "\(ranks) rank(s) × batch \(layer.batchSize) = \(step) records; resume with a rank count "
                                   + "and batch size whose product divides \(records)")
        }
        return records / step
    }

    private func updateSmoothedLoss(_ loss: Float, start: Int) {
        let window = parameter.averageLoss
        if recentLosses.count < window {
            recentLosses.append(loss)
            let n = Float(recentLosses.count)
            smoothedLoss = (smoothedLoss * (n - 1) + loss) / n
        } else {
            let i = (iteration - start) % window
            smoothedLoss += (loss - recentLosses[i]) / Float(window)
            recentLosses[i] = loss
        }
    }

    /// Every output of the train net (blobs no layer reads), element by element.
    private func trainOutputs() -> [Output] { Self.outputs(of: net) }

    /// The current values of a net's outputs, element by element, with their loss weights.
    static func outputs(of n: Net) -> [Output] {
        let outs = Set(n.outputBlobs.map(ObjectIdentifier.init))
        var out: [Output] = []
        for (i, l) in n.layers.enumerated() {
            for (j, t) in n.tops(of: i).enumerated() where outs.contains(ObjectIdentifier(t)) {
                let w = n.lossOutputs.first { $0.layer == i && $0.top == j }?.weight ?? 0
                for k in 0..<t.count { out.append(Output(name: l.parameter.tops[j], value: t.data[k], lossWeight: w)) }
            }
        }
        return out
    }

    /// ClipGradients, then per parameter Normalize, Regularize and the rule; then W −= update.
    /// Returns the learning rate used (asked once per iteration: multistep
    /// advances its step at most once per call, as in Caffe).
    @discardableResult
    func applyUpdate(display: Bool) throws -> Float {
        let rate = schedule.rate(at: iteration, currentStep: &currentStep)
        lastRate = rate
        if display { log("Iteration \(iteration), lr = \(fmt(rate))") }
        let params = net.learnableParams
        if parameter.clipGradients >= 0 {
            var sumsq: Float = 0
            for p in params { sumsq += BLAS.dot(p.count, p.diff, p.diff) }
            let norm = sumsq.squareRoot()
            let clip = Float(parameter.clipGradients)
            if norm > clip {
                let scale = clip / norm
                log("Gradient clipping: scaling down gradients (L2 norm \(fmt(norm)) > \(fmt(clip))) by scale factor \(fmt(scale))")
                for p in params { BLAS.scal(p.count, scale, p.diff) }
            }
        }
        let decay = Float(parameter.weightDecay)
        for (i, p) in params.enumerated() {
            let (w, g, n) = (p.data, p.diff, p.count)
            if parameter.iterSize > 1 { BLAS.scal(n, 1 / Float(parameter.iterSize), g) }
            let localDecay = decay * net.decayMultipliers[i]
            if localDecay != 0 {
                switch parameter.regularization {
                case .l2:
                    BLAS.axpy(n, localDecay, w, g)
                case .l1:
                    let (ws, gs) = (SharedPointer(w), SharedPointer(g))
                    UpdateRule.chunked(n) { r in for k in r { gs[k] += localDecay * (ws[k] > 0 ? 1 : (ws[k] < 0 ? -1 : 0)) } }
                }
            }
            rule.apply(diff: g, count: n, rate: rate * net.learningRateMultipliers[i], first: history[i].data,
                       second: rule.historyPerParameter > 1 ? history[params.count + i].data : nil, iteration: iteration)
            BLAS.axpy(n, -1, g, w)
        }
        return rate
    }

    // MARK: Testing

    /// Runs every test net; returns the averaged outputs of each.
    @discardableResult
    public func testAll() throws -> [[Output]] {
        var all: [[Output]] = []
        for i in testNets.indices { all.append(try test(net: i)) }
        return all
    }

    /// Caffe's Test: test_iter forward passes, each output averaged.
    public func test(net index: Int) throws -> [Output] {
        log("Iteration \(iteration), Testing net (#\(index))")
        let t = testNets[index]
        let iterations = parameter.testIter[index]
        let averaged = try Self.average(t, iterations: iterations)
        if parameter.testComputeLoss { log("Test loss: \(fmt(averaged.loss))") }
        for (k, o) in averaged.outputs.enumerated() {
            let weighted = o.lossWeight != 0 ? " (* \(fmt(o.lossWeight)) = \(fmt(o.lossWeight * o.value)) loss)" : ""
            log("    Test net output #\(k): \(o.name) = \(fmt(o.value))\(weighted)")
        }
        for o in observers { o.solver(self, testedAt: iteration, net: index, outputs: averaged.outputs) }
        return averaged.outputs
    }

    /// `iterations` forward passes of a net, each output element averaged (as `caffe test` and Solver::Test do).
    public static func average(_ n: Net, iterations: Int, each: ((Int, Float) -> Void)? = nil) throws -> (outputs: [Output], loss: Float) {
        var sums: [Output] = []
        var loss: Float = 0
        for it in 0..<iterations {
            let l = try n.forward()
            loss += l
            let current = outputs(of: n)
            each?(it, l)
            if sums.isEmpty { sums = current } else { for k in sums.indices where k < current.count { sums[k].value += current[k].value } }
        }
        for k in sums.indices { sums[k].value /= Float(max(1, iterations)) }
        return (sums, loss / Float(max(1, iterations)))
    }

    // MARK: Snapshots

    /// Writes P_iter_N.caffemodel and P_iter_N.solverstate (each atomically).
    @discardableResult
    public func snapshot() throws -> (model: String, state: String) {
        let model = "\(snapshotPrefix)_iter_\(iteration).caffemodel"
        let state = "\(snapshotPrefix)_iter_\(iteration).solverstate"
        log("Snapshotting to binary proto file \(model)")
        try CaffeModelWriter.write(net, to: model)
        log("Snapshotting solver state to binary proto file \(state)")
        try SolverState.write(iteration: iteration, learnedNet: model, historyBlobs: history, currentStep: currentStep,
                              solverType: rule.type.rawValue,
                              dataBatches: net.dataStreams.map { $0.batchesRead * (group?.size ?? 1) },
                              dataRecords: net.dataStreams.map { $0.batchesRead * $0.batchSize * (group?.size ?? 1) },
                              testDataRecords: testNets.flatMap(\.dataStreams).map { $0.batchesRead * $0.batchSize },
                              to: state)
        snapshots.append((model, state))
        for o in observers { o.solver(self, snapshotted: model, state: state) }
        return (model, state)
    }

    /// The snapshot this run would write over `path` (a file it reads, such
    /// as the weights it starts from), if any: P_iter_N for an N it will
    /// reach from the current iteration up to `maxIterations` more.
    public func snapshot(over path: String, maxIterations: Int? = nil) -> String? {
        guard let target = FileIdentity(path) else { return nil }
        let name = (path as NSString).lastPathComponent
        let stem = (snapshotPrefix as NSString).lastPathComponent + "_iter_"
        guard name.hasPrefix(stem), let dot = name.lastIndex(of: "."), ["caffemodel", "solverstate"].contains(name[name.index(after: dot)...]),
              let n = Int(name[name.index(name.startIndex, offsetBy: stem.count)..<dot]) else { return nil }
        let stop = maxIterations.map { min(parameter.maxIter, iteration + $0) } ?? parameter.maxIter
        let reached = n > iteration && n <= stop
        let written = (parameter.snapshot > 0 && n % parameter.snapshot == 0) || (n == stop && parameter.snapshotAfterTrain)
        let candidate = "\(snapshotPrefix)_iter_\(n).\(name[name.index(after: dot)...])"
        guard reached, written, FileIdentity(candidate) == target else { return nil }
        return candidate
    }

    /// Caffe's Restore: weights from the state's learned_net, then history,
    /// iteration and lr step; a state from another solver type is refused
    /// unless `force`.
    public func restore(from path: String, force: Bool = false) throws {
        log("Resuming from \(path)")
        let s = try SolverState.read(path: path)
        if let t = s.solverType, t != rule.type.rawValue, !force {
            throw CaffeError.io(path: path, reason: "this state was written by the \(t) solver, but the solver file asks for "
                                + "\(rule.type.rawValue); their histories mean different things. Resume with type: \"\(t)\", or pass --force")
        }
        guard s.history.count == history.count else {
            throw CaffeError.io(path: path, reason: "holds \(s.history.count) history blobs; this net and the \(rule.type.rawValue) solver need "
                                + "\(history.count) (\(net.learnableParams.count) parameters × \(rule.historyPerParameter))")
        }
        for (i, (h, stored)) in zip(history, s.history).enumerated() {
            guard stored.values.count == h.count else {
                throw CaffeError.io(path: path, reason: "history blob \(i) holds \(stored.values.count) values; the net's parameter needs \(h.count)")
            }
            h.set(stored.values)
        }
        var weights = s.learnedNet
        if !FileManager.default.fileExists(atPath: weights) {
            let near = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent((weights as NSString).lastPathComponent)
            guard FileManager.default.fileExists(atPath: near) else {
                throw CaffeError.io(path: path, reason: "its weights file \"\(s.learnedNet)\" (learned_net) was not found, nor \(near)")
            }
            weights = near
        }
        let report = try WeightCopier.copy(CaffeModel(path: weights), into: net)
        guard report.missing.isEmpty else {
            throw CaffeError.io(path: weights, reason: "has no weights for layer(s) \(report.missing.joined(separator: ", ")) of the net")
        }
        guard s.iteration < parameter.maxIter else {
            throw CaffeError.io(path: path, reason: "the state is at iteration \(s.iteration), not before the solver's max_iter \(parameter.maxIter): "
                                + "there is nothing left to train. Raise max_iter to train further")
        }
        iteration = s.iteration
        currentStep = s.currentStep
        // Where each data layer stopped: records (any rank count and batch
        // size), or, in older states, batches of this size.
        if s.dataRecords.isEmpty {
            for (layer, batches) in zip(net.dataStreams, s.dataBatches) { layer.restart(atBatch: batches) }
        } else {
            for (layer, records) in zip(net.dataStreams, s.dataRecords) {
                layer.restart(atBatch: try Self.batches(records: records, of: layer, ranks: 1))
            }
        }
        // The tests go on where they were: a test set that test_iter does not
        // cover exactly is read from a different record each time.
        for (layer, records) in zip(testNets.flatMap(\.dataStreams), s.testDataRecords) {
            layer.restart(atBatch: try Self.batches(records: records, of: layer, ranks: 1))
        }
    }

    /// The AlexNet paper's PCA colour noise on the train net's data layers.
    public func enableColorNoise(sigma: Float) throws {
        guard sigma > 0 else { throw CaffeError.usage("PCA colour noise needs σ > 0, found \(sigma)") }
        let layers = net.prefetchingLayers
        guard !layers.isEmpty else { throw CaffeError.usage("the train net has no Data or ImageData layer to add PCA colour noise to") }
        for l in layers {
            let deviations = try l.addColorNoise(sigma: sigma)
            log("PCA colour noise on \(l.name): σ \(sigma), component deviations " + deviations.map { fmt($0) }.joined(separator: ", "))
        }
    }

    /// Fine-tuning: weights copied by layer name from a .caffemodel.
    public func copyWeights(from path: String) throws -> WeightReport {
        let model = try CaffeModel(path: path)
        let report = try WeightCopier.copy(model, into: net)
        return report
    }

    // MARK: Divergence

    /// A non-finite loss or gradient stops training before the weights are
    /// touched, naming the first layer where it appeared and why it likely did.
    private func checkFinite(loss: Float) throws {
        var gradientsFinite = true
        for p in net.learnableParams where !BLAS.dot(p.count, p.diff, p.diff).isFinite {
            if !p.diffBuffer.allSatisfy({ $0.isFinite }) { gradientsFinite = false; break }
        }
        if loss.isFinite && gradientsFinite { return }
        throw CaffeError.diverged(Divergence.diagnose(net: net, iteration: iteration, loss: loss, rate: lastRate,
                                                      baseLR: parameter.baseLR, recentLosses: lossesForHint))
    }
}

extension NetState {
    /// A solver's train_state or test_state; an unset phase is the net's own.
    init(_ m: Caffe.NetState, phase defaultPhase: Phase) {
        self.init(phase: m.has(.phase) ? m.phase : defaultPhase, level: m.level, stages: m.stage)
    }
}

/// Caffe's log number format (C++ ostream default: 6 significant digits).
func fmt(_ v: Float) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    var s = String(format: "%.6g", Double(v))
    if s.contains("e") {
        // ostream prints e-05, as %g does; keep it.
        return s
    }
    if s == "-0" { s = "0" }
    return s
}
