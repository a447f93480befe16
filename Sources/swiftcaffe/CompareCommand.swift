import ArgumentParser
import Foundation
import SwiftCaffe

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train two solvers with the same seed and data order and compare them (e.g. AlexNet vs CaffeNet): a table and a chart.")

    @Option(name: [.customLong("solver"), .customLong("solver", withSingleDash: true)], help: "A solver prototxt (give exactly two).")
    var solvers: [String] = []

    @Option(name: [.customLong("iterations"), .customLong("iterations", withSingleDash: true)], parsing: .unconditional, help: "Iterations each (default: max_iter).")
    var iterations: Int?

    @Option(help: "Folder for compare.md, the chart, and each run's log and snapshots.")
    var output = "runs/compare"

    @Option(help: "The chart: .svg, .png or .pdf (PNG and PDF need rsvg-convert or cairosvg; default: OUTPUT/compare.svg).")
    var chart: String?

    @Option(help: "The chart's x axis: iterations or seconds (of training).")
    var x: SVGChart.XAxis = .iterations

    @Option(parsing: .unconditional, help: "Forward-backward passes that time the layers the nets order differently (median and range).")
    var timingPasses = 10

    @Option(help: "Seed for both runs (default: the first solver's random_seed).")
    var seed: UInt64?

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if solvers.count != 2 { throw ValidationError("give --solver exactly twice, found \(solvers.count)") }
        if let i = iterations, i < 1 { throw ValidationError("--iterations must be at least 1") }
        if timingPasses < 1 { throw ValidationError("--timing-passes must be at least 1") }
    }

    func run() throws {
        try runtime.apply()
        let chartPath = chart ?? (output as NSString).appendingPathComponent("compare.svg")
        try Pictures.checkChartPath(chartPath, option: "--chart")
        try createFolder(output)
        let tablePath = (output as NSString).appendingPathComponent("compare.md")
        let inputs = solvers.map { ("solver file", $0) }
        for path in [chartPath, tablePath] { try refuseOverwritingInputs(output: path, inputs: inputs) }
        let loaded = try solvers.map { try ModelFile.loadSolver(path: $0) }
        let commonSeed = seed ?? UInt64(max(0, loaded[0].solver.randomSeed >= 0 ? loaded[0].solver.randomSeed : 1701))
        var k = 0
        let comparison = try TrainingComparison.train(loaded, seed: commonSeed, iterations: iterations, folder: output,
                                                      timingPasses: timingPasses) { name, log, planned in
            note("training \(name) (\(solvers[k])) for \(NumberText.grouped(planned)) iterations, log and snapshots: \(log.dropLast(4))*")
            k += 1
            return ProgressBar(total: planned).map { [$0] } ?? []
        }
        let table = comparison.table
        print(table, terminator: "")
        try AtomicFile.write(table, to: tablePath)
        try Pictures.writeChart(try comparison.chart(x: x), to: chartPath)
        note("wrote \(chartPath) and \(tablePath)")
    }
}

extension SVGChart.XAxis: ExpressibleByArgument {}

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw train loss and test outputs from Caffe-format logs (Caffe's or SwiftCaffe's) as SVG, PNG or PDF.")

    @Argument(help: "Log files.")
    var logs: [String]

    @Option(name: .shortAndLong, help: "The chart: .svg, .png or .pdf (PNG and PDF need rsvg-convert or cairosvg).")
    var output: String

    @Option(help: "The x axis: iterations, or seconds since the log's Solving line (from the glog time stamps).")
    var x: SVGChart.XAxis = .iterations

    @Option(parsing: .unconditional, help: "Plot the train loss as the mean of this many points.")
    var smooth = 1

    func validate() throws {
        if logs.isEmpty { throw ValidationError("give at least one log file") }
        if smooth < 1 { throw ValidationError("--smooth must be at least 1") }
    }

    func run() throws {
        try Pictures.checkChartPath(output)
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
        let svg = try SVGChart.training(runs, title: runs.map(\.name).joined(separator: " vs "), x: x, smooth: smooth)
        try Pictures.writeChart(svg, to: output)
        note("wrote \(output)")
    }
}
