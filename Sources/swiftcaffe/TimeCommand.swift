import ArgumentParser
import Dispatch
import Foundation
import SwiftCaffe

/// Options for running nets.
struct RuntimeOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for SwiftCaffe and OpenBLAS (default: SWIFTCAFFE_THREADS, else all cores).")
    var threads: Int?

    func apply() throws {
        if let t = threads {
            guard t > 0 else { throw CaffeError.usage("--threads must be at least 1, found \(t)") }
            Parallel.threads = t
        }
        if let w = BLAS.kernelWarning { note(w) }
    }
}

extension WeightPrecision: ExpressibleByArgument {}

/// `--weights-precision` for the commands that only run nets forward.
struct WeightPrecisionOption: ParsableArguments {
    @Option(name: .customLong("weights-precision"),
            help: "Store the InnerProduct and Convolution weights as fp32, fp16 or bf16 for the forward pass (inference only; at batch 1 these layers stream their weights).")
    var precision: WeightPrecision = .fp32
}

struct TimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time",
        abstract: "Time a net's forward and backward passes per layer, like `caffe time`.")

    @Option(name: [.customLong("model"), .customLong("model", withSingleDash: true)], help: "The net prototxt.")
    var model: String

    @Option(name: [.customLong("weights"), .customLong("weights", withSingleDash: true)],
            help: "Weights to run with (.caffemodel); without, the fillers' values.")
    var weights: String?

    @Option(name: [.customLong("iterations"), .customLong("iterations", withSingleDash: true)], parsing: .unconditional,
            help: "Timed iterations (after one warm-up).")
    var iterations = 50

    @Option(parsing: .unconditional, help: "Batch size: replaces the first axis of every input.")
    var batch: Int?

    @OptionGroup var state: NetStateOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var weightsPrecision: WeightPrecisionOption
    @OptionGroup var parse: ParseOptions

    func run() throws {
        guard iterations > 0 else { throw CaffeError.usage("--iterations must be at least 1") }
        if let b = batch, b < 1 { throw CaffeError.usage("--batch must be at least 1") }
        try runtime.apply()
        let loaded = try ModelFile.loadNet(path: model, options: parse.prototxt)
        printWarnings(loaded.warnings, source: loaded.source)
        let netState = state.state(default: .train)
        let shapes = try batch.map { try loaded.inputShapes(batch: $0, state: netState, given: state.shapes) } ?? state.shapes
        var graph = try buildGraph(loaded, options: .init(state: netState, inputShapes: shapes))
        // A net without a loss is timed backward from its outputs, as `caffe time` does.
        if !graph.hasLoss { graph.forceBackward = true }
        let net = try Net(graph: graph)
        if let w = weights {
            let report = try WeightCopier.copy(try CaffeModel(path: w), into: net)
            if !report.missing.isEmpty { note("warning: \(report.missing.joined(separator: ", ")) not in \(w); they keep their filler values") }
        }
        // A net without a loss is also timed as `forward` runs it: TEST phase, fused.
        var inference: Net?
        if !graph.hasLoss {
            var state = netState
            state.phase = .test
            let fused = try Net(graph: try buildGraph(loaded, options: .init(state: state, inputShapes: shapes)))
            try fused.shareParameters(with: net)
            fused.storeWeights(as: weightsPrecision.precision)
            inference = fused
        } else if weightsPrecision.precision != .fp32 {
            throw CaffeError.usage("--weights-precision times the inference forward, which a net with a loss does not have; give its deploy net")
        }
        let status = StatusLine(after: 2)
        let timing = try NetTiming.measure(net, iterations: iterations, inference: inference) { done, total in
            status.show("timing: pass \(done) of \(total) (per layer, forward, forward-backward)")
        }
        status.clear()
        print("\(graph.name.isEmpty ? model : graph.name): phase \(graph.state.phase.name), batch \(timing.batch), \(iterations) iterations, "
              + "\(Parallel.threads) thread(s); BLAS: \(BLAS.summary)"
              + (weightsPrecision.precision == .fp32 ? "" : "; InnerProduct and Convolution weights \(weightsPrecision.precision.rawValue) in the inference forward"))
        print(timing.report)
    }
}
