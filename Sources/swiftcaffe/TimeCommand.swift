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

struct TimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time",
        abstract: "Time a net's forward and backward passes per layer, like `caffe time`.")

    @Option(name: .customLong("model"), help: "The net prototxt.")
    var model: String

    @Option(parsing: .unconditional, help: "Timed iterations (after one warm-up).")
    var iterations = 50

    @Option(parsing: .unconditional, help: "Batch size: replaces the first axis of every input.")
    var batch: Int?

    @OptionGroup var state: NetStateOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var parse: ParseOptions

    func run() throws {
        guard iterations > 0 else { throw CaffeError.usage("--iterations must be at least 1") }
        try runtime.apply()
        let loaded = try ModelFile.loadNet(path: model, options: parse.prototxt)
        printWarnings(loaded.warnings, source: loaded.source)
        var shapes = state.shapes
        if let b = batch {
            guard b > 0 else { throw CaffeError.usage("--batch must be at least 1") }
            let probe = try buildGraph(loaded, options: .init(state: state.state(default: .train), inputShapes: shapes))
            for l in probe.layers where ["Input", "DummyData"].contains(l.type) {
                for (t, s) in zip(l.layer.tops, l.topShapes) where shapes[t] == nil {
                    if var s, !s.isEmpty { s[0] = b; shapes[t] = s }
                }
            }
        }
        var graph = try buildGraph(loaded, options: .init(state: state.state(default: .train), inputShapes: shapes))
        let hasLoss = graph.layers.contains { $0.type.hasSuffix("Loss") || !$0.layer.lossWeights.isEmpty }
        if !hasLoss { graph.forceBackward = true }
        let net = try Net(graph: graph)
        let names = net.layers.map(\.name)

        // Per-layer times (their timers add overhead, so the passes are timed apart below).
        try net.forward()
        var fwd = Array(repeating: 0.0, count: names.count), bwd = fwd
        for _ in 0..<iterations {
            for i in names.indices { fwd[i] += try seconds { try net.forward(layer: i) } }
            if hasLoss { net.setLossDiffs() } else { net.seedOutputGradients() }
            for i in names.indices.reversed() { bwd[i] += try seconds { try net.backward(layer: i) } }
        }
        var forwardPass = 0.0, fullPass = 0.0
        for _ in 0..<iterations { forwardPass += try seconds { try net.forward() } }
        for _ in 0..<iterations {
            fullPass += try seconds {
                try net.forward()
                if hasLoss { try net.backward() } else {
                    net.seedOutputGradients()
                    for i in names.indices.reversed() { try net.backward(layer: i) }
                }
            }
        }

        let n = Double(iterations)
        let items = graph.batchSize
        print("\(graph.name.isEmpty ? model : graph.name): phase \(graph.state.phase.name), batch \(items), \(iterations) iterations, "
              + "\(Parallel.threads) thread(s); BLAS: \(BLAS.summary)")
        var rows = [["layer", "type", "forward ms", "backward ms"]]
        for (i, l) in net.layers.enumerated() {
            rows.append([l.name, l.type, ms(fwd[i] / n), net.layerNeedsBackward(i) ? ms(bwd[i] / n) : "-"])
        }
        print(table(rows))
        let flops = 2 * Double(graph.totalMACs ?? 0)
        print("Sum of layers:   forward \(ms(fwd.reduce(0, +) / n)) ms, backward \(ms(bwd.reduce(0, +) / n)) ms")
        print("Forward pass:    \(ms(forwardPass / n)) ms, \(rate(Double(items) * n / forwardPass)) images/s, "
              + "\(rate(flops * n / forwardPass / 1e9)) GFLOP/s")
        print("Forward-backward: \(ms(fullPass / n)) ms, \(rate(Double(items) * n / fullPass)) images/s")
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    private func ms(_ s: Double) -> String { String(format: "%.3f", s * 1000) }
    private func rate(_ x: Double) -> String { String(format: "%.1f", x) }

    private func table(_ rows: [[String]]) -> String {
        var widths = Array(repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i >= 2 ? pad + c : c + pad
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
