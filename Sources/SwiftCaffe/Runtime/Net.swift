import Foundation

/// A net ready to run: the planned graph's layers with their blobs, built in
/// Caffe's passes (blobs and in-place tops, parameters and sharing by
/// ParamSpec name, loss weights, which layers need backward).
public final class Net {
    public let graph: NetGraph
    public let phase: Phase
    public private(set) var layers: [Layer] = []
    private(set) var bottoms: [[Blob]] = []
    private(set) var tops: [[Blob]] = []
    /// Blobs by name; an in-place top keeps its bottom's blob.
    public private(set) var blobs: [String: Blob] = [:]
    /// Blob names in order of first appearance.
    public private(set) var blobNames: [String] = []
    private(set) var needsBackward: [Bool] = []
    private(set) var propagateDown: [[Bool]] = []
    /// (layer, top, weight) for every top that adds to the loss.
    private(set) var lossTops: [(layer: Int, top: Int, weight: Float)] = []
    /// Each learnable blob once (shared blobs appear under their owner).
    public private(set) var learnableParams: [Blob] = []
    public private(set) var learningRateMultipliers: [Float] = []
    public private(set) var decayMultipliers: [Float] = []
    /// Scratch shared by the layers.
    public let workspace = Workspace()
    /// Layers that `init(prototxt:weights:)` found no weights for (they keep their fillers).
    public internal(set) var missingWeights: [String] = []
    /// Seconds spent in each layer's forward and backward since timing was
    /// switched on (`startTiming`); nil when off. In a fused forward the
    /// layers it folds into others (`fusedLayers`) take no time of their own.
    public private(set) var layerSeconds: [(forward: Double, backward: Double)]?
    private let seed: UInt64
    /// Whether forward() fuses per-channel layers into convolutions and
    /// skips channel concats (InferenceFusion). On by default in a TEST net
    /// without force_backward; backward after a fused forward first reruns
    /// the forward unfused. Tools that read intermediate blobs switch it off.
    public var fusesForInference: Bool
    private lazy var fusion = InferenceFusion(layers: layers, bottoms: bottoms, tops: tops)
    private var lastForwardFused = false
    /// Set once checkGradientMemory has found room for every gradient.
    private var gradientsFit = false

    /// Builds the net; parameters come from the fillers, seeded by `seed`.
    /// `externalLayers` run the Python layers of that name (the Python
    /// module's); without one a Python layer is refused.
    public init(graph: NetGraph, seed: UInt64 = 1701, externalLayers: [String: any ExternalLayer] = [:]) throws {
        self.graph = graph
        self.seed = seed
        phase = graph.state.phase
        fusesForInference = graph.state.phase == .test && !graph.forceBackward
        try Self.checkMemory(graph)
        var rng = RandomSource(seed: seed)
        var ownerByName: [String: (blob: Blob, layer: String, index: Int)] = [:]
        var blobNeedsBackward: Set<ObjectIdentifier> = []
        var problems: [Diagnostic] = []

        for g in graph.layers {
            let p = g.layer
            var runtime = LayerCatalog.byType[p.type]?.runtime
            if g.plan is PythonPlan, externalLayers[p.name] != nil { runtime = .runs(PythonLayer.self) }
            guard case .runs(let type)? = runtime else {
                var reason = "the runtime does not run this layer type"
                if case .shapeOnly(let r)? = LayerCatalog.byType[p.type]?.runtime { reason = r }
                if let python = g.plan as? PythonPlan { reason = python.refusal }
                problems.append(Diagnostic(.error, "\(p.label): \(reason); it runs: " + LayerCatalog.runnableTypes.joined(separator: ", "),
                                           at: p.location))
                // Stand-in tops, so the layers after it can still be checked.
                for t in p.tops where blobs[t] == nil { blobs[t] = Blob() }
                continue
            }
            let layer = try type.init(LayerContext(graphLayer: g, phase: phase, rng: rng.fork(), workspace: workspace,
                                                   external: externalLayers[p.name]))
            // The graph has checked that every bottom was made before.
            let bs = p.bottoms.map { blobs[$0] ?? Blob() }
            let ts = makeTops(g, bottoms: bs)
            let layerLearns = registerParameters(of: layer, specs: p.params, layerName: p.name, owners: &ownerByName)
            // Loss weights: given, or 1 on the first top of a loss layer.
            for j in p.tops.indices {
                let w: Float = j < p.lossWeights.count ? Float(p.lossWeights[j]) : layer.defaultLossWeight(top: j)
                if w != 0 { lossTops.append((layers.count, j, w)) }
            }
            // Backward is needed where a bottom needs it or parameters learn.
            var needs = layerLearns
            var down = bs.map { blobNeedsBackward.contains(ObjectIdentifier($0)) }
            if graph.forceBackward { down = bs.indices.map { layer.allowsForceBackward($0) } }
            for (j, flag) in p.propagateDown.enumerated() where j < down.count { down[j] = flag }
            if down.contains(true) { needs = true }
            for t in ts where needs { blobNeedsBackward.insert(ObjectIdentifier(t)) }
            layers.append(layer)
            bottoms.append(bs)
            tops.append(ts)
            needsBackward.append(needs)
            propagateDown.append(down)
        }
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
        pruneLayersNotUnderLoss()
        for (layer, needs) in zip(layers, needsBackward) { layer.runsBackward = needs }
        try reshape()
        limitLabels()
    }

    /// A layer's tops: its bottom when written in place, else a new blob (a
    /// view of the bottom's data for an inserted Split).
    private func makeTops(_ g: GraphLayer, bottoms bs: [Blob]) -> [Blob] {
        let p = g.layer
        var ts: [Blob] = []
        for (j, t) in p.tops.enumerated() {
            if j < p.bottoms.count, p.bottoms[j] == t {
                ts.append(bs[j])
            } else {
                let shape = (j < g.topShapes.count ? g.topShapes[j] : nil) ?? []
                let b = g.sharesBottomData ? Blob(shape, sharingDataOf: bs[0]) : Blob(shape)
                if blobs[t] == nil { blobNames.append(t) }
                blobs[t] = b
                ts.append(b)
            }
        }
        return ts
    }

    /// The layer's parameter blobs: one shared by ParamSpec name becomes the
    /// first owner's blob, the others are learnable with their multipliers.
    /// True when one of them learns (lr_mult ≠ 0).
    private func registerParameters(of layer: Layer, specs: [ParamSpec], layerName: String,
                                    owners ownerByName: inout [String: (blob: Blob, layer: String, index: Int)]) -> Bool {
        var learns = false
        for i in layer.params.indices {
            let spec = i < specs.count ? specs[i] : nil
            let lr = layer.statisticsOnly ? 0 : Float(spec?.lrMult ?? 1)
            if let name = spec?.name, !name.isEmpty, let owner = ownerByName[name] {
                // The graph has checked that shared blobs agree (NetGraph.checkSharedParameters).
                precondition(spec!.permissiveSharing ? layer.params[i].count == owner.blob.count : layer.params[i].shape == owner.blob.shape)
                layer.params[i] = owner.blob
            } else {
                if let name = spec?.name, !name.isEmpty { ownerByName[name] = (layer.params[i], layerName, i) }
                learnableParams.append(layer.params[i])
                learningRateMultipliers.append(lr)
                decayMultipliers.append(Float(spec?.decayMult ?? 1))
            }
            if lr != 0 { learns = true }
        }
        return learns
    }

    /// The blobs the plan asks for must fit in the MemoryBudget before any
    /// is allocated (a train net's gradients double them); the error names
    /// the layer with the largest blob.
    private static func checkMemory(_ graph: NetGraph) throws {
        let training = graph.state.phase == .train || graph.forceBackward
        var total = 0
        var largest: (bytes: Int, layer: GraphLayer, what: String, shape: Shape)?
        for g in graph.layers {
            var blobs: [(String, Shape)] = (g.paramShapes ?? []).enumerated().map { ("parameter blob \($0.offset)", $0.element) }
            for (j, t) in g.topShapes.enumerated() where !g.inPlaceTops.contains(j) && !g.sharesBottomData {
                if let t { blobs.append(("top '\(j < g.layer.tops.count ? g.layer.tops[j] : "#\(j)")'", t)) }
            }
            for (what, shape) in blobs {
                let bytes = MemoryBudget.floats(count(shape)).multipliedReportingOverflow(by: training ? 2 : 1)
                let b = bytes.overflow ? Int.max : bytes.partialValue
                total = total.addingSaturating(b)
                if b > largest?.bytes ?? -1 { largest = (b, g, what, shape) }
            }
        }
        guard let big = largest, let short = MemoryBudget.shortfall(total) else { return }
        throw CaffeError.at(big.layer.layer.location, "\(big.layer.layer.label): the net's blobs need \(MemoryBudget.describe(total))"
                            + (training ? " with their gradients" : "") + ", \(short); the largest is this layer's \(big.what), "
                            + "\(describe(big.shape)) (\(MemoryBudget.describe(big.bytes))). A smaller batch or input needs less")
    }

    /// Gradients are allocated when backward first needs them: a TEST net run
    /// backward (`time`, a program) checks that they fit before any is made.
    /// Once they exist, Layer.reshape's check covers their growth, so this
    /// runs once, not in every training step (nor in each layer `time` times).
    private func checkGradientMemory() throws {
        guard !gradientsFit else { return }
        var seen: Set<ObjectIdentifier> = []
        var total = 0
        var largest: (bytes: Int, layer: Int)?
        for i in layers.indices where needsBackward[i] {
            for b in tops[i] + bottoms[i] + layers[i].params where seen.insert(ObjectIdentifier(b)).inserted {
                let bytes = b.diffBytesToAllocate
                total = total.addingSaturating(bytes)
                if bytes > largest?.bytes ?? 0 { largest = (bytes, i) }
            }
        }
        guard let big = largest, let short = MemoryBudget.shortfall(total) else {
            gradientsFit = true
            return
        }
        let l = layers[big.layer].parameter
        throw CaffeError.at(l.location, "\(l.label): the gradients of the backward pass need \(MemoryBudget.describe(total)), \(short); "
                            + "this layer's are the largest (\(MemoryBudget.describe(big.bytes)))")
    }

    /// A data layer whose labels feed a classifier's loss or accuracy learns
    /// the class count, so a bad label is reported with its file and record.
    private func limitLabels() {
        for (i, l) in layers.enumerated() {
            guard let b = l.classLabelBottom, b < bottoms[i].count else { continue }
            let scores = bottoms[i][0]
            guard scores.numAxes >= 2, scores.dim(1) > 0 else { continue }
            // Follow the label blob back through pass-through layers to its producer.
            var label = bottoms[i][b]
            var j = i - 1
            while j >= 0 {
                if let t = tops[j].firstIndex(where: { $0 === label }) {
                    guard layers[j].passesBottomThrough else {
                        layers[j].limitLabels(top: t, classes: scores.dim(1))
                        break
                    }
                    label = bottoms[j][0]
                }
                j -= 1
            }
        }
    }

    /// Caffe skips backward for layers whose outputs reach no loss.
    private func pruneLayersNotUnderLoss() {
        var underLoss: Set<ObjectIdentifier> = []
        for i in layers.indices.reversed() {
            let contributes = lossTops.contains { $0.layer == i } || tops[i].contains { underLoss.contains(ObjectIdentifier($0)) }
            if contributes {
                for b in bottoms[i] { underLoss.insert(ObjectIdentifier(b)) }
            } else if !graph.forceBackward {
                needsBackward[i] = false
                propagateDown[i] = propagateDown[i].map { _ in false }
            }
        }
    }

    /// Re-plans every top after an input changed shape.
    public func reshape() throws {
        for i in layers.indices { try layers[i].reshape(bottoms[i], tops[i]) }
    }

    /// Runs every layer; returns the weighted sum of the loss tops.
    @discardableResult
    public func forward() throws -> Float {
        lastForwardFused = false
        if fusesForInference, !fusion.absorbed.isEmpty {
            try fusedForward()
            lastForwardFused = true
            return loss
        }
        if layerSeconds != nil {
            for i in layers.indices where !writesNothing(i) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try layers[i].forward(bottoms[i], tops[i])
                layerSeconds![i].forward += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            }
            return loss
        }
        for i in layers.indices where !writesNothing(i) { try layers[i].forward(bottoms[i], tops[i]) }
        return loss
    }

    /// A layer whose every top is empty (an empty batch) has nothing to
    /// compute; the kernels need not each guard against it. Its backward
    /// only zeroes the bottoms' gradients: nothing flowed out of them.
    private func writesNothing(_ i: Int) -> Bool { !tops[i].isEmpty && tops[i].allSatisfy { $0.count == 0 } }

    private func backwardOfNothing(_ i: Int) {
        for (b, down) in zip(bottoms[i], propagateDown[i]) where down && b.count > 0 { b.zeroDiff() }
    }

    /// The layers a fused forward does not run (their work done by a convolution).
    public var fusedLayers: [String] { fusion.absorbed.sorted().map { layers[$0].name } }

    /// Blobs a fused forward leaves unwritten: convolution tops whose values
    /// go straight into a Concat's top. Reading one needs fusion off.
    public var blobsLeftUnwrittenByFusion: Set<String> {
        let skipped = fusion.chains.filter { $0.concat != nil }.map { ObjectIdentifier(tops[$0.conv][0]) }
        return Set(blobs.filter { skipped.contains(ObjectIdentifier($0.value)) }.map(\.key))
    }

    private func fusedForward() throws {
        for i in layers.indices where !fusion.absorbed.contains(i) && !writesNothing(i) {
            let t0 = layerSeconds == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            if let work = fusion.work(at: i, layers: layers, tops: tops) {
                try layers[i].forward(bottoms[i], tops[i], absorbing: work)
            } else {
                try layers[i].forward(bottoms[i], tops[i])
            }
            if layerSeconds != nil { layerSeconds![i].forward += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
        }
    }

    /// Backward needs every layer's own output: after a fused forward, run it again unfused.
    private func unfuseBeforeBackward() throws {
        guard lastForwardFused else { return }
        let keep = fusesForInference
        fusesForInference = false
        defer { fusesForInference = keep }
        try forward()
    }

    /// Starts (or restarts) per-layer timing.
    public func startTiming() { layerSeconds = Array(repeating: (0, 0), count: layers.count) }

    /// Gives every layer that draws random numbers a stream that depends only
    /// on the net's seed, the layer and `step`.
    public func reseed(step: UInt64) {
        for (i, l) in layers.enumerated() {
            l.reseed(RandomSource(seed: seed ^ (UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15) ^ (step &* 0xBF58_476D_1CE4_E5B9)))
        }
    }

    /// Batches delivered by the data layers, and the seconds the net waited for them.
    public var dataWaitSeconds: (batches: Int, seconds: Double) {
        prefetchingLayers.reduce((0, 0.0)) { ($0.0 + $1.delivered.batches, $0.1 + $1.delivered.waitSeconds) }
    }

    /// The layers that read batches from a source (Data, ImageData).
    var prefetchingLayers: [PrefetchingDataLayer] { layers.compactMap { $0 as? PrefetchingDataLayer } }

    /// The layers whose place in their data the solver saves, restores and
    /// shards (Data, ImageData, HDF5Data).
    var dataStreams: [any DataStream] { layers.compactMap { $0 as? any DataStream } }

    /// Shares `other`'s parameter blobs with the layers of the same name
    /// here (Caffe's ShareTrainedLayersWith: a test net sees the weights
    /// being trained without copies).
    public func shareParameters(with other: Net) throws {
        var byName: [String: Layer] = [:]
        for l in other.layers { byName[l.name] = l }
        for l in layers where !l.params.isEmpty {
            guard let source = byName[l.name] else { continue }
            guard source.params.count == l.params.count,
                  zip(source.params, l.params).allSatisfy({ $0.shape == $1.shape }) else {
                throw CaffeError.at(l.parameter.location, "\(l.parameter.label): its parameters are "
                                    + l.params.map { describe($0.shape) }.joined(separator: ", ")
                                    + " in the \(phase.name) net but " + source.params.map { describe($0.shape) }.joined(separator: ", ")
                                    + " in the \(other.phase.name) net; a layer of one name must have one shape in both")
            }
            l.params = source.params
        }
    }

    /// The tops of layer i (for diagnosis and tools).
    public func tops(of i: Int) -> [Blob] { tops[i] }
    public func bottoms(of i: Int) -> [Blob] { bottoms[i] }
    public func propagatesDown(_ i: Int) -> [Bool] { propagateDown[i] }
    /// (layer, top, weight) of the tops that add to the loss.
    public var lossOutputs: [(layer: Int, top: Int, weight: Float)] { lossTops }

    /// The loss of the last forward pass.
    public var loss: Float {
        var l: Float = 0
        for (i, j, w) in lossTops {
            let t = tops[i][j]
            var s: Float = 0
            for k in 0..<t.count { s += t.data[k] }
            l += w * s
        }
        return l
    }

    /// Gradients of the loss: every layer that needs backward, last to first.
    /// `afterLayer(i)` runs once layer i is done (or skipped), for every i:
    /// data-parallel training sends gradients that are final while the rest runs.
    public func backward(afterLayer: ((Int) throws -> Void)? = nil) throws {
        try checkGradientMemory()
        try unfuseBeforeBackward()
        setLossDiffs()
        for i in layers.indices.reversed() {
            if needsBackward[i], writesNothing(i) {
                backwardOfNothing(i)
            } else if needsBackward[i] {
                if layerSeconds != nil {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try layers[i].backward(tops[i], propagateDown[i], bottoms[i])
                    layerSeconds![i].backward += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                } else {
                    try layers[i].backward(tops[i], propagateDown[i], bottoms[i])
                }
            }
            try afterLayer?(i)
        }
    }

    /// Blobs no later layer reads (the net's outputs).
    public var outputBlobs: [Blob] {
        var read: Set<ObjectIdentifier> = []
        var out: [Blob] = []
        for i in layers.indices.reversed() {
            for t in tops[i] where !read.contains(ObjectIdentifier(t)) && !out.contains(where: { $0 === t }) { out.append(t) }
            for b in bottoms[i] { read.insert(ObjectIdentifier(b)) }
        }
        return out
    }

    /// For timing a net without a loss: backward as if every output had gradient 1.
    public func seedOutputGradients() {
        for b in outputBlobs { b.diff.update(repeating: 1, count: b.count) }
    }

    public func clearParamDiffs() {
        for p in learnableParams { p.zeroDiff() }
    }

    public func blob(_ name: String) -> Blob? { blobs[name] }

    /// Runs one layer on its own (for `swiftcaffe time`).
    public func forward(layer i: Int) throws {
        lastForwardFused = false
        if !writesNothing(i) { try layers[i].forward(bottoms[i], tops[i]) }
    }
    public func backward(layer i: Int) throws {
        try checkGradientMemory()
        try unfuseBeforeBackward()
        guard needsBackward[i] else { return }
        if writesNothing(i) { backwardOfNothing(i) } else { try layers[i].backward(tops[i], propagateDown[i], bottoms[i]) }
    }
    public func layerNeedsBackward(_ i: Int) -> Bool { needsBackward[i] }

    /// Runs layers `start` through `end` only, unfused, so every blob they
    /// write holds its value (pycaffe's `forward(start=, end=)`); returns the
    /// loss of the loss tops as they now stand.
    @discardableResult
    public func forward(from start: Int, to end: Int) throws -> Float {
        precondition(layers.indices.contains(start) && layers.indices.contains(end) && start <= end,
                     "SwiftCaffe bug: forward from layer \(start) to \(end) of \(layers.count)")
        lastForwardFused = false
        for i in start...end where !writesNothing(i) { try layers[i].forward(bottoms[i], tops[i]) }
        return loss
    }

    /// Backward through layers `start` down to `end` (pycaffe's
    /// `backward(start=, end=)`). The tops' gradients are taken as they are:
    /// a loss top holds its loss weight once `setLossDiffs()` has run, as
    /// Caffe sets it up, unless the caller wrote another.
    public func backward(from start: Int, to end: Int) throws {
        precondition(layers.indices.contains(start) && layers.indices.contains(end) && end <= start,
                     "SwiftCaffe bug: backward from layer \(start) to \(end) of \(layers.count)")
        try checkGradientMemory()
        try unfuseBeforeBackward()
        for i in stride(from: start, through: end, by: -1) where needsBackward[i] {
            if writesNothing(i) { backwardOfNothing(i) } else { try layers[i].backward(tops[i], propagateDown[i], bottoms[i]) }
        }
    }
    /// Sets each loss top's gradient to its loss weight, as backward() starts.
    public func setLossDiffs() {
        for (i, j, w) in lossTops { tops[i][j].diff.update(repeating: w, count: tops[i][j].count) }
    }
}
