import Foundation

/// What `swiftcaffe compare` measures of a trained solver.
public enum NetComparison {
    /// The class each test item gets (argmax of the scores an Accuracy or
    /// SoftmaxWithLoss layer reads) over one pass of test net #0 from its
    /// first record, so two nets are compared on the same items.
    public static func predictions(_ s: Solver) throws -> [Int] {
        guard let net = s.testNets.first, let iterations = s.parameter.testIter.first else { return [] }
        guard let i = net.layers.firstIndex(where: { $0.type == AccuracyPlan.type || $0.type == SoftmaxWithLossPlan.type }) else { return [] }
        let scores = net.bottoms(of: i)[0]
        for l in net.dataStreams { l.restart(atBatch: 0) }
        var out: [Int] = []
        for _ in 0..<iterations {
            try net.forward()
            let n = scores.dim(0), classes = scores.count / max(1, n)
            for j in 0..<n {
                var best = 0
                for c in 1..<max(1, classes) where scores.data[j * classes + c] > scores.data[j * classes + best] { best = c }
                out.append(best)
            }
        }
        return out
    }

    /// Layers whose position differs between two nets (AlexNet's and
    /// CaffeNet's swapped pool and norm).
    public static func swappedLayers(_ a: Net, _ b: Net) -> [String] {
        let an = a.layers.map(\.name), bn = b.layers.map(\.name)
        return an.enumerated().compactMap { i, name in
            guard let j = bn.firstIndex(of: name) else { return nil }
            return i != j ? name : nil
        }
    }
}

/// Solvers trained one after the other with one seed and one data order, and
/// what `swiftcaffe compare` tabulates and plots of them.
public struct TrainingComparison {
    public struct Run {
        public var name: String
        public var solver: Solver
        public var curves: TrainingCurves
        /// Iterations this run trained.
        public var iterations: Int
        /// Test net #0's class for each of its items after training.
        public var predictions: [Int]
        /// The run's Caffe-format log.
        public var logPath: String
        /// The trained net timed apart from training (`timingPasses` passes), per layer.
        public var timing: NetTiming?
    }

    public var runs: [Run]
    /// Layers the first two nets order differently (AlexNet's and CaffeNet's pool and norm).
    public var swapped: [String]

    /// Trains each solver for `iterations` (default: its max_iter) from `seed`,
    /// its log ("N-name.log") and snapshots ("N-name_iter_K.caffemodel") in
    /// `folder`. `starting` hears each run's name, log and iteration count
    /// before it trains and gives observers to add (a progress bar). Then
    /// the trained nets run `timingPasses` forward-backward passes each, so
    /// the layers they order differently are timed by a median, not by one sample.
    public static func train(_ solvers: [LoadedSolver], seed: UInt64, iterations: Int?, folder: String, timingPasses: Int = 10,
                             starting: (_ name: String, _ log: String, _ iterations: Int) -> [SolverObserver] = { _, _, _ in [] })
        throws -> TrainingComparison {
        var runs: [Run] = []
        for (k, loaded) in solvers.enumerated() {
            let s = try Solver(loaded, seedOverride: seed)
            let name = s.net.graph.name.isEmpty ? "net \(k + 1)" : s.net.graph.name
            let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
            let stem = (folder as NSString).appendingPathComponent("\(k + 1)-\(safe)")
            s.snapshotPrefix = stem
            let logPath = stem + ".log"
            let recorder = CurveRecorder(name: name)
            let planned = iterations.map { min(s.parameter.maxIter, s.iteration + $0) } ?? s.parameter.maxIter
            s.observers += [CaffeLogWriter(standardError: false, files: [try LiveFile(logPath)]), recorder]
            s.observers += starting(name, logPath, planned - s.iteration)
            let start = s.iteration
            try s.solve(maxIterations: iterations)
            var curves = recorder.curves
            // The last test, for a run that did not end on a test interval.
            if curves.test["accuracy"]?.last?.iteration != s.iteration, !s.testNets.isEmpty {
                for o in try s.test(net: 0) where o.name == "accuracy" {
                    curves.test["accuracy", default: []].append(CurvePoint(iteration: s.iteration, seconds: s.trainSeconds, value: o.value))
                }
            }
            runs.append(Run(name: name, solver: s, curves: curves, iterations: s.iteration - start,
                            predictions: try NetComparison.predictions(s), logPath: logPath, timing: nil))
        }
        let swapped = runs.count >= 2 ? NetComparison.swappedLayers(runs[0].solver.net, runs[1].solver.net) : []
        if !swapped.isEmpty, timingPasses > 0 {
            for k in runs.indices { runs[k].timing = try NetTiming.measure(runs[k].solver.net, iterations: timingPasses) }
        }
        return TrainingComparison(runs: runs, swapped: swapped)
    }

    /// Test accuracy and train loss against iterations or seconds of training, as SVG.
    public func chart(x: SVGChart.XAxis = .iterations) throws -> String {
        try SVGChart.training(runs.map(\.curves), title: runs.map(\.name).joined(separator: " vs "), x: x)
    }

    /// Forward + backward milliseconds per timed pass of the named layers
    /// together, in a run's timing: median, min and max over the passes.
    public func milliseconds(of names: [String], run: Int) -> (median: Double, min: Double, max: Double)? {
        guard let t = runs[run].timing else { return nil }
        let layers = t.layers.filter { names.contains($0.name) }
        guard !layers.isEmpty else { return nil }
        let passes = (0..<t.iterations).map { i in layers.reduce(0.0) { $0 + $1.forwardSamples[i] + $1.backwardSamples[i] } * 1000 }
        return (NetTiming.median(passes), passes.min() ?? 0, passes.max() ?? 0)
    }

    /// A Markdown table: loss, accuracy, speed, size and memory of each run,
    /// the time of each layer the nets order differently, and how often the
    /// first two runs agree on the test items.
    public var table: String {
        func ms(_ x: Double) -> String { String(format: "%.2f", x * 1000) }
        func mib(_ b: Int?) -> String { b.map { String(format: "%.1f MiB", Double($0) / 1048576) } ?? "?" }
        func spread(_ t: (median: Double, min: Double, max: Double)?) -> String {
            t.map { String(format: "%.4g (%.4g–%.4g)", $0.median, $0.min, $0.max) } ?? "-"
        }
        var rows: [(String, [String])] = []
        rows.append(("iterations", runs.map { NumberText.grouped($0.iterations) }))
        rows.append(("final train loss (smoothed)", runs.map { String(format: "%.4f", $0.solver.smoothedLoss) }))
        rows.append(("test accuracy (last test)", runs.map { $0.curves.test["accuracy"]?.last.map { String(format: "%.4f", $0.value) } ?? "-" }))
        rows.append(("ms per iteration (train)", runs.map { ms($0.solver.trainSeconds / Double(max(1, $0.iterations))) }))
        rows.append(("parameters", runs.map { $0.solver.net.graph.totalParams.map(NumberText.grouped) ?? "?" }))
        rows.append(("MACs per image", runs.map { r in r.solver.net.graph.totalMACs.map { NumberText.grouped($0 / max(1, r.solver.net.graph.batchSize)) } ?? "?" }))
        rows.append(("activation memory (train batch)", runs.map { mib($0.solver.net.graph.activationBytes) }))
        let passes = runs.first?.timing?.iterations ?? 0
        for name in swapped {
            rows.append(("\(name) fwd+bwd ms, median (min–max)", runs.indices.map { spread(milliseconds(of: [name], run: $0)) }))
        }
        if !swapped.isEmpty { rows.append(("swapped layers together, ms", runs.indices.map { spread(milliseconds(of: swapped, run: $0)) })) }
        let width = max(34, rows.map(\.0.count).max()!)
        let columns = runs.indices.map { k in max(runs[k].name.count, rows.map { $0.1[k].count }.max() ?? 0) }
        var out = "| " + "".padding(toLength: width, withPad: " ", startingAt: 0) + " | "
            + runs.indices.map { runs[$0].name.padding(toLength: columns[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "-", count: width + 2) + "|" + columns.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|\n"
        for (label, values) in rows {
            out += "| " + label.padding(toLength: width, withPad: " ", startingAt: 0) + " | "
                + values.indices.map { values[$0].padding(toLength: columns[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
        }
        if runs.count >= 2, !runs[0].predictions.isEmpty {
            let a = runs[0].predictions, b = runs[1].predictions
            let agree = zip(a, b).filter { $0 == $1 }.count
            out += "\nTop-1 agreement on \(NumberText.grouped(min(a.count, b.count))) test items: "
                + String(format: "%.2f%%", 100 * Double(agree) / Double(max(1, min(a.count, b.count)))) + " (\(NumberText.grouped(agree)) agree)\n"
        }
        if !swapped.isEmpty {
            out += "Layers in a different order: \(swapped.joined(separator: ", ")); their times are of \(passes) forward-backward passes "
                + "of each trained net after training.\n"
            if let verdict { out += verdict + "\n" }
        }
        return out
    }

    /// Which order of the swapped layers is cheaper, and whether the passes' spreads say so clearly.
    public var verdict: String? {
        guard runs.count >= 2, let a = milliseconds(of: swapped, run: 0), let b = milliseconds(of: swapped, run: 1) else { return nil }
        let (cheap, dear) = a.median <= b.median ? (0, 1) : (1, 0)
        let (c, d) = cheap == 0 ? (a, b) : (b, a)
        let clear = c.max < d.min
        return "\(runs[cheap].name)'s order is " + String(format: "%.2f× cheaper (%.4g vs %.4g ms per pass, medians)", d.median / max(c.median, 1e-9), c.median, d.median)
            + (clear ? "; every pass of it was faster than every pass of \(runs[dear].name)'s." : "; the passes' ranges overlap, so the difference is within the noise.")
    }
}
