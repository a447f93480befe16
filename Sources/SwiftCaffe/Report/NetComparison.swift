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
        for l in net.prefetchingLayers { l.restart(atBatch: 0) }
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
    }

    public var runs: [Run]

    /// Trains each solver for `iterations` (default: its max_iter) from `seed`,
    /// each logging to "N-name.log" in `logFolder`; `starting` hears each
    /// run's name and log path before it trains.
    public static func train(_ solvers: [LoadedSolver], seed: UInt64, iterations: Int?, logFolder: String,
                             starting: (_ name: String, _ log: String) -> Void = { _, _ in }) throws -> TrainingComparison {
        var runs: [Run] = []
        for (k, loaded) in solvers.enumerated() {
            let s = try Solver(loaded, seedOverride: seed)
            let name = s.net.graph.name.isEmpty ? "net \(k + 1)" : s.net.graph.name
            let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
            let logPath = (logFolder as NSString).appendingPathComponent("\(k + 1)-\(safe).log")
            let recorder = CurveRecorder(name: name)
            s.observers += [CaffeLogWriter(standardError: false, files: [try LiveFile(logPath)]), recorder]
            starting(name, logPath)
            s.net.startTiming()
            let start = s.iteration
            try s.solve(maxIterations: iterations)
            var curves = recorder.curves
            // The last test, for a run that did not end on a test interval.
            if curves.test["accuracy"]?.last?.iteration != s.iteration, !s.testNets.isEmpty {
                for o in try s.test(net: 0) where o.name == "accuracy" { curves.test["accuracy", default: []].append((s.iteration, o.value)) }
            }
            runs.append(Run(name: name, solver: s, curves: curves, iterations: s.iteration - start,
                            predictions: try NetComparison.predictions(s), logPath: logPath))
        }
        return TrainingComparison(runs: runs)
    }

    /// Test accuracy and train loss against iteration, as SVG.
    public var chart: String { SVGChart.training(runs.map(\.curves), title: runs.map(\.name).joined(separator: " vs ")) }

    /// A Markdown table: loss, accuracy, speed, size and memory of each run,
    /// the time of each layer the nets order differently, and how often the
    /// first two runs agree on the test items.
    public var table: String {
        func ms(_ x: Double) -> String { String(format: "%.2f", x * 1000) }
        func mib(_ b: Int?) -> String { b.map { String(format: "%.1f MiB", Double($0) / 1048576) } ?? "?" }
        var rows: [(String, [String])] = []
        rows.append(("iterations", runs.map { String($0.iterations) }))
        rows.append(("final train loss (smoothed)", runs.map { String(format: "%.4f", $0.solver.smoothedLoss) }))
        rows.append(("test accuracy (last test)", runs.map { $0.curves.test["accuracy"]?.last.map { String(format: "%.4f", $0.value) } ?? "-" }))
        rows.append(("ms per iteration (train)", runs.map { ms($0.solver.trainSeconds / Double(max(1, $0.iterations))) }))
        rows.append(("parameters", runs.map { $0.solver.net.graph.totalParams.map { String($0) } ?? "?" }))
        rows.append(("MACs per image", runs.map { r in r.solver.net.graph.totalMACs.map { String($0 / max(1, r.solver.net.graph.batchSize)) } ?? "?" }))
        rows.append(("activation memory (train batch)", runs.map { mib($0.solver.net.graph.activationBytes) }))
        let swapped = runs.count >= 2 ? NetComparison.swappedLayers(runs[0].solver.net, runs[1].solver.net) : []
        for name in swapped {
            rows.append(("\(name) fwd+bwd ms/iter", runs.map { r in
                let net = r.solver.net
                guard let i = net.layers.firstIndex(where: { $0.name == name }), let t = net.layerSeconds?[i] else { return "-" }
                let calls = Double(max(1, r.iterations))
                return String(format: "%.3f + %.3f", t.forward * 1000 / calls, t.backward * 1000 / calls)
            }))
        }
        let width = max(34, rows.map(\.0.count).max()!)
        var out = "| " + "".padding(toLength: width, withPad: " ", startingAt: 0) + " | " + runs.map(\.name).joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "-", count: width + 2) + "|" + runs.map { String(repeating: "-", count: $0.name.count + 2) }.joined(separator: "|") + "|\n"
        for (label, values) in rows {
            out += "| " + label.padding(toLength: width, withPad: " ", startingAt: 0) + " | "
                + zip(values, runs).map { v, r in v.padding(toLength: max(v.count, r.name.count), withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
        }
        if runs.count >= 2, !runs[0].predictions.isEmpty {
            let a = runs[0].predictions, b = runs[1].predictions
            let agree = zip(a, b).filter { $0 == $1 }.count
            out += String(format: "\nTop-1 agreement on %d test items: %.2f%% (%d agree)\n", min(a.count, b.count),
                          100 * Double(agree) / Double(max(1, min(a.count, b.count))), agree)
        }
        if !swapped.isEmpty { out += "Layers in a different order: \(swapped.joined(separator: ", ")) (time per iteration, forward + backward)\n" }
        return out
    }
}
