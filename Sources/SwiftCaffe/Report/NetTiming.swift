import Dispatch
import Foundation

/// A net's forward and backward times, per layer and per whole pass, measured
/// as `caffe time` does: one warm-up pass, then `iterations` timed ones.
public struct NetTiming: Sendable {
    public struct LayerTime: Sendable {
        public var name: String
        public var type: String
        /// Mean seconds per iteration.
        public var forward: Double
        /// nil when the layer needs no backward pass.
        public var backward: Double?
        /// Each timed iteration's seconds, forward and backward (0-ish for a
        /// layer without backward: its call returns at once).
        public var forwardSamples: [Double]
        public var backwardSamples: [Double]
        /// Mean seconds in the inference forward (TEST phase, fused), when
        /// timed; nil also for a layer that pass folds into another.
        public var inference: Double?
    }

    public var layers: [LayerTime]
    /// Each timed iteration's seconds: a forward pass, and a forward and backward pass.
    public var forwardPasses: [Double]
    public var fullPasses: [Double]
    /// Their means.
    public var forwardPass: Double { forwardPasses.reduce(0, +) / Double(max(1, forwardPasses.count)) }
    public var fullPass: Double { fullPasses.reduce(0, +) / Double(max(1, fullPasses.count)) }
    /// Each timed forward pass of the net as `forward` and `classify` run it
    /// (TEST phase, inference fusion), for a net without a loss; nil otherwise.
    public var inferencePasses: [Double]?
    public var inferencePass: Double? { inferencePasses.map { $0.reduce(0, +) / Double(max(1, $0.count)) } }
    /// Wall seconds of the per-layer timing loop (Caffe's "Total Time").
    public var layerLoopSeconds: Double
    public var iterations: Int
    public var batch: Int
    /// Floating-point operations of one forward pass (2 × the MACs), when known.
    public var forwardFlops: Double?

    /// Times `net`. A net without a loss has its output gradients set to 1 so
    /// its backward pass still runs (its graph must have force_backward set).
    /// `progress` hears (passes done, passes in all) after each of the
    /// 3 × `iterations` + 1 passes: per layer, forward, forward-backward.
    /// `inference`, a TEST-phase net of the same graph without a loss,
    /// adds `inferencePasses` and each layer's `inference` time (2 ×
    /// iterations + 1 more passes for `progress`).
    public static func measure(_ net: Net, iterations: Int, inference: Net? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> NetTiming {
        precondition(iterations > 0, "timing needs at least one iteration")
        let total = 3 * iterations + 1 + (inference == nil ? 0 : 2 * iterations + 1)
        var done = 0
        func passed() {
            done += 1
            progress?(done, total)
        }
        let hasLoss = !net.lossOutputs.isEmpty
        let indices = net.layers.indices
        func backward() throws {
            if hasLoss { return try net.backward() }
            net.seedOutputGradients()
            for i in indices.reversed() { try net.backward(layer: i) }
        }
        // Per-layer times (their timers add overhead, so the passes are timed apart below).
        try net.forward()
        passed()
        var fwd = Array(repeating: [Double](), count: indices.count), bwd = fwd
        let layerLoop = try seconds {
            for _ in 0..<iterations {
                for i in indices { fwd[i].append(try seconds { try net.forward(layer: i) }) }
                if hasLoss { net.setLossDiffs() } else { net.seedOutputGradients() }
                for i in indices.reversed() { bwd[i].append(try seconds { try net.backward(layer: i) }) }
                passed()
            }
        }
        let forwardPasses = try (0..<iterations).map { _ in
            defer { passed() }
            return try seconds { try net.forward() }
        }
        let fullPasses = try (0..<iterations).map { _ in
            defer { passed() }
            return try seconds {
                try net.forward()
                try backward()
            }
        }
        var inferencePasses: [Double]?
        if let inference {
            try inference.forward()
            passed()
            inferencePasses = try (0..<iterations).map { _ in
                defer { passed() }
                return try seconds { try inference.forward() }
            }
        }
        // The inference pass per layer, apart from the whole passes above (the timers add overhead).
        var inferenceLayers: [String: Double] = [:]
        if let inference {
            inference.startTiming()
            for _ in 0..<iterations {
                try inference.forward()
                passed()
            }
            let folded = Set(inference.fusedLayers)
            for (l, t) in zip(inference.layers, inference.layerSeconds ?? []) where !folded.contains(l.name) {
                inferenceLayers[l.name] = t.forward / Double(iterations)
            }
        }
        let n = Double(iterations)
        let layers = net.layers.enumerated().map { i, l in
            LayerTime(name: l.name, type: l.type, forward: fwd[i].reduce(0, +) / n,
                      backward: net.layerNeedsBackward(i) ? bwd[i].reduce(0, +) / n : nil, forwardSamples: fwd[i], backwardSamples: bwd[i],
                      inference: inferenceLayers[l.name])
        }
        return NetTiming(layers: layers, forwardPasses: forwardPasses, fullPasses: fullPasses, inferencePasses: inferencePasses,
                         layerLoopSeconds: layerLoop, iterations: iterations,
                         batch: net.graph.batchSize, forwardFlops: net.graph.totalMACs.map { 2 * Double($0) })
    }

    /// The per-layer table and the totals, in milliseconds.
    public var report: String {
        // With an inference pass, its per-layer times first ("fused" for a
        // layer folded into the convolution before it).
        let fused = inferencePasses != nil
        var rows = [(fused ? ["layer", "type", "inference ms"] : ["layer", "type"]) + ["forward ms", "backward ms"]]
        for l in layers {
            rows.append([l.name, l.type] + (fused ? [l.inference.map(Self.ms) ?? "fused"] : [])
                + [Self.ms(l.forward), l.backward.map(Self.ms) ?? "-"])
        }
        var widths = Array(repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let table = rows.map { r in
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i >= 2 ? pad + c : c + pad
            }.joined(separator: "  ")
        }
        let forwardSum = layers.reduce(0) { $0 + $1.forward }, backwardSum = layers.reduce(0) { $0 + ($1.backward ?? 0) }
        func pass(_ label: String, _ xs: [Double]) -> String {
            let mean = xs.reduce(0, +) / Double(max(1, xs.count))
            return "\(label)\(Self.ms(mean)) ms (min \(Self.ms(xs.min() ?? 0)), median \(Self.ms(Self.median(xs)))), "
                + "\(Self.rate(Double(batch) / mean)) images/s, \(Self.rate((forwardFlops ?? 0) / mean / 1e9)) GFLOP/s"
        }
        // A net that needs no backward runs as `forward` runs it; the forward
        // before a backward is the unfused one.
        let inference = inferencePasses.map { [pass("Inference forward: ", $0) + " (TEST phase, fused, as `forward` and `classify` run it)"] } ?? []
        return (table + ["Sum of layers:   forward \(Self.ms(forwardSum)) ms, backward \(Self.ms(backwardSum)) ms"] + inference + [
            pass(inferencePasses == nil ? "Forward pass:    " : "Forward pass:    (unfused, as before a backward) ", forwardPasses),
            "Forward-backward: \(Self.ms(fullPass)) ms (min \(Self.ms(fullPasses.min() ?? 0)), median \(Self.ms(Self.median(fullPasses)))), "
                + "\(Self.rate(Double(batch) / fullPass)) images/s",
            // `caffe time`'s closing lines, which scripts read: the per-layer
            // sums, the mean whole iteration and the per-layer loop's wall time.
            "Average Forward pass: \(Self.ms(forwardSum)) ms.",
            "Average Backward pass: \(Self.ms(backwardSum)) ms.",
            "Average Forward-Backward: \(Self.ms(fullPass)) ms.",
            "Total Time: \(Self.ms(layerLoopSeconds)) ms.",
        ]).joined(separator: "\n")
    }

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    private static func ms(_ s: Double) -> String { String(format: "%.3f", s * 1000) }
    private static func rate(_ x: Double) -> String { String(format: "%.1f", x) }
}

extension LoadedNet {
    /// `given` plus, for each Input and DummyData top it does not name, the
    /// file's shape with its first axis set to `batch` (`caffe time`'s batch).
    public func inputShapes(batch: Int, state: NetState, given: [String: Shape]) throws -> [String: Shape] {
        precondition(batch > 0, "a batch size is at least 1")
        var shapes = given
        let probe = try graph(.init(state: state, inputShapes: given), data: .ifReadable { _ in })
        for l in probe.layers where l.type == InputPlan.type || l.type == DummyDataPlan.type {
            for (t, s) in zip(l.layer.tops, l.topShapes) where shapes[t] == nil {
                if var s, !s.isEmpty { s[0] = batch; shapes[t] = s }
            }
        }
        return shapes
    }
}
