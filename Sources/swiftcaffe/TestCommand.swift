import ArgumentParser
import Foundation
import SwiftCaffe

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a net's TEST phase with trained weights and report each output averaged, like `caffe test`.")

    @Option(name: [.customLong("model"), .customLong("model", withSingleDash: true)], help: "The net prototxt (with its TEST-phase data layer).")
    var model: String

    @Option(name: [.customLong("weights"), .customLong("weights", withSingleDash: true)], help: "Trained weights (.caffemodel).")
    var weights: String

    @Option(name: [.customLong("iterations"), .customLong("iterations", withSingleDash: true)], parsing: .unconditional, help: "Batches to run.")
    var iterations = 50

    @OptionGroup var state: NetStateOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var parse: ParseOptions

    func run() throws {
        guard iterations > 0 else { throw CaffeError.usage("--iterations must be at least 1, found \(iterations)") }
        try runtime.apply()
        let loaded = try ModelFile.loadNet(path: model, options: parse.prototxt)
        printWarnings(loaded.warnings, source: loaded.source)
        let netState = state.state(default: .test)
        let net: Net
        do {
            // Read here rather than in buildGraph, so an unreadable source is an error, not a note.
            var shapes = try DataShapes.probe(loaded.net, state: netState)
            shapes.merge(state.shapes) { _, b in b }
            net = try Net(graph: try buildGraph(loaded, options: .init(state: netState, inputShapes: shapes)))
        } catch let e as CaffeError {
            if let src = loaded.source { throw e.with(source: src) }
            throw e
        }
        let report = try WeightCopier.copy(CaffeModel(path: weights), into: net)
        if !report.missing.isEmpty {
            throw CaffeError.io(path: weights, reason: "has no weights for layer(s) \(report.missing.joined(separator: ", ")) of \(model)")
        }
        let log = CaffeLogWriter(standardError: true)
        log.write("Running for \(iterations) iterations.")
        let averaged = try Solver.average(net, iterations: iterations) { i, _ in
            for name in net.outputBlobNames {
                guard let b = net.blob(name) else { continue }
                for j in 0..<b.count { log.write("Batch \(i), \(name) = \(formatted(b.data[j]))") }
            }
        }
        log.write("Loss: \(formatted(averaged.loss))")
        for o in averaged.outputs {
            let weighted = o.lossWeight != 0 ? " (* \(formatted(o.lossWeight)) = \(formatted(o.lossWeight * o.value)) loss)" : ""
            log.write("\(o.name) = \(formatted(o.value))\(weighted)")
            print("\(o.name) = \(formatted(o.value))\(weighted)")
        }
    }
}

func formatted(_ v: Float) -> String { String(format: "%.6g", Double(v)) }
