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

    func run() throws {
        try runtime.apply()
        try createFolder(output)
        let loaded = try solvers.map { try ModelFile.loadSolver(path: $0) }
        let commonSeed = seed ?? UInt64(max(0, loaded[0].solver.randomSeed >= 0 ? loaded[0].solver.randomSeed : 1701))
        var k = 0
        let comparison = try TrainingComparison.train(loaded, seed: commonSeed, iterations: iterations, logFolder: output) { name, log in
            note("training \(name) (\(solvers[k])), log: \(log)")
            k += 1
        }
        let table = comparison.table
        print(table)
        let tablePath = (output as NSString).appendingPathComponent("compare.md")
        let svgPath = (output as NSString).appendingPathComponent("compare.svg")
        try AtomicFile.write(table, to: tablePath)
        try AtomicFile.write(comparison.chart, to: svgPath)
        note("wrote \(svgPath) and \(tablePath)")
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
