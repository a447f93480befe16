import ArgumentParser
import Foundation
import SwiftCaffe

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train two solvers with the same seed and data order and compare them (e.g. AlexNet vs CaffeNet): a table and an SVG plot.")

    @Option(name: [.customLong("solver"), .customLong("solver", withSingleDash: true)], help: "A solver prototxt (give exactly two).")
    var solvers: [String] = []

    @Option(name: [.customLong("iterations"), .customLong("iterations", withSingleDash: true)], parsing: .unconditional, help: "Iterations each (default: max_iter).")
    var iterations: Int?

    @Option(help: "Folder for compare.svg, compare.md and each run's log.")
    var output = "runs/compare"

    @Option(help: "Seed for both runs (default: the first solver's random_seed).")
    var seed: UInt64?

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if solvers.count != 2 { throw ValidationError("give --solver exactly twice, found \(solvers.count)") }
        if let i = iterations, i < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    struct Result {
        var name: String
        var solver: Solver
        var curves: TrainingCurves
        var iterations: Int
        var predictions: [Int]
    }

    func run() throws {
        try runtime.apply()
        try createFolder(output)
        let loaded = try solvers.map { try ModelFile.loadSolver(path: $0) }
        let commonSeed = seed ?? UInt64(max(0, loaded[0].solver.randomSeed >= 0 ? loaded[0].solver.randomSeed : 1701))
        var results: [Result] = []
        for (k, l) in loaded.enumerated() {
            let s = try Solver(l, seedOverride: commonSeed)
            let name = s.net.graph.name.isEmpty ? "net \(k + 1)" : s.net.graph.name
            let logPath = (output as NSString).appendingPathComponent("\(k + 1)-\(safe(name)).log")
            let log = CaffeLogWriter(standardError: false, files: [try LiveFile(logPath)])
            let recorder = CurveRecorder(name: name)
            s.observers += [log, recorder]
            note("training \(name) (\(solvers[k])), log: \(logPath)")
            s.net.startTiming()
            let start = s.iteration
            try s.solve(maxIterations: iterations)
            let done = s.iteration - start
            var curves = recorder.curves
            // The last test, for a run that did not end on a test interval.
            if curves.test["accuracy"]?.last?.iteration != s.iteration, !s.testNets.isEmpty {
                for o in try s.test(net: 0) where o.name == "accuracy" { curves.test["accuracy", default: []].append((s.iteration, o.value)) }
            }
            results.append(Result(name: name, solver: s, curves: curves, iterations: done, predictions: try NetComparison.predictions(s)))
        }
        let table = report(results)
        print(table)
        try AtomicFile.write(table, to: (output as NSString).appendingPathComponent("compare.md"))
        let svgPath = (output as NSString).appendingPathComponent("compare.svg")
        try AtomicFile.write(SVGChart.training(results.map(\.curves), title: "\(results[0].name) vs \(results[1].name)"), to: svgPath)
        note("wrote \(svgPath) and \((output as NSString).appendingPathComponent("compare.md"))")
    }

    private func safe(_ s: String) -> String { String(s.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) }

    private func report(_ r: [Result]) -> String {
        func ms(_ x: Double) -> String { String(format: "%.2f", x * 1000) }
        func mib(_ b: Int?) -> String { b.map { String(format: "%.1f MiB", Double($0) / 1048576) } ?? "?" }
        var rows: [(String, [String])] = []
        rows.append(("iterations", r.map { String($0.iterations) }))
        rows.append(("final train loss (smoothed)", r.map { String(format: "%.4f", $0.solver.smoothedLoss) }))
        rows.append(("test accuracy (last test)", r.map { $0.curves.test["accuracy"]?.last.map { String(format: "%.4f", $0.value) } ?? "-" }))
        rows.append(("ms per iteration (train)", r.map { ms($0.solver.trainSeconds / Double(max(1, $0.iterations))) }))
        rows.append(("parameters", r.map { $0.solver.net.graph.totalParams.map { String($0) } ?? "?" }))
        rows.append(("MACs per image", r.map { res in res.solver.net.graph.totalMACs.map { String($0 / max(1, res.solver.net.graph.batchSize)) } ?? "?" }))
        rows.append(("activation memory (train batch)", r.map { mib($0.solver.net.graph.activationBytes) }))
        let swapped = NetComparison.swappedLayers(r[0].solver.net, r[1].solver.net)
        for name in swapped {
            rows.append(("\(name) fwd+bwd ms/iter", r.map { res in
                let net = res.solver.net
                guard let i = net.layers.firstIndex(where: { $0.name == name }), let t = net.layerSeconds?[i] else { return "-" }
                let calls = Double(max(1, res.iterations))
                return String(format: "%.3f + %.3f", t.forward * 1000 / calls, t.backward * 1000 / calls)
            }))
        }
        let a = r[0].predictions, b = r[1].predictions
        let agree = zip(a, b).filter { $0 == $1 }.count
        let width = max(34, rows.map(\.0.count).max()!)
        var out = "| " + "".padding(toLength: width, withPad: " ", startingAt: 0) + " | " + r.map(\.name).joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "-", count: width + 2) + "|" + r.map { String(repeating: "-", count: $0.name.count + 2) }.joined(separator: "|") + "|\n"
        for (label, values) in rows {
            out += "| " + label.padding(toLength: width, withPad: " ", startingAt: 0) + " | "
                + zip(values, r).map { v, res in v.padding(toLength: max(v.count, res.name.count), withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |\n"
        }
        if !a.isEmpty {
            out += String(format: "\nTop-1 agreement on %d test items: %.2f%% (%d agree)\n", min(a.count, b.count),
                          100 * Double(agree) / Double(max(1, min(a.count, b.count))), agree)
        }
        if !swapped.isEmpty { out += "Layers in a different order: \(swapped.joined(separator: ", ")) (time per iteration, forward + backward)\n" }
        return out
    }
}

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw train loss and test outputs against iteration from Caffe-format logs (Caffe's or SwiftCaffe's) as SVG.")

    @Argument(help: "Log files.")
    var logs: [String]

    @Option(name: .shortAndLong, help: "The SVG file to write.")
    var output: String

    func validate() throws {
        if logs.isEmpty { throw ValidationError("give at least one log file") }
    }

    func run() throws {
        try refuseOverwritingInputs(output: output, inputs: logs.map { ("log file \($0)", $0) })
        var runs: [TrainingCurves] = []
        for path in logs {
            let text = String(decoding: try readFile(path), as: UTF8.self)
            let c = TrainingCurves.parse(log: text, name: ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
            if c.trainLoss.isEmpty && c.test.isEmpty {
                throw CaffeError.io(path: path, reason: "holds no training lines (\"Iteration N ..., loss = X\" or \"Test net output\"); is it a Caffe log?")
            }
            note("\(path): \(c.trainLoss.count) train loss points; test outputs: \(c.test.keys.sorted().joined(separator: ", "))")
            runs.append(c)
        }
        try AtomicFile.write(SVGChart.training(runs, title: runs.map(\.name).joined(separator: " vs ")), to: output)
        note("wrote \(output)")
    }
}
