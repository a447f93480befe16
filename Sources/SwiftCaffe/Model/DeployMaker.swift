/// Makes a deploy net from a train_val net, as users otherwise do by hand:
/// the TEST-phase layers are kept; data layers become one Input layer for the
/// data blob; layers reading labels are dropped, except that the
/// SoftmaxWithLoss (or SigmoidCrossEntropyLoss) ending the net becomes
/// a Softmax (Sigmoid) named "prob"; include/exclude rules are removed.
/// With several loss heads (GoogLeNet's auxiliary classifiers) the head with
/// the largest loss_weight (the last of equals) becomes "prob", and the
/// layers that only fed the other heads are dropped too, as BVLC's deploy
/// files do.
public enum DeployMaker {
    /// Data and Input layers: the types whose plan needs no bottom.
    static func isData(_ l: LayerParameter) -> Bool { LayerCatalog.plan(l.type) is any SourcePlan.Type }

    public struct Result: Sendable {
        public var message: ProtoMessage
        public var notes: [String]
        /// The TEST data layer's transform_param, which the Input layer cannot hold.
        public var transform: InputTransform?

        /// The deploy file: the transform as a comment block, then the net.
        public var text: String {
            (transform.map { $0.commentBlock + "\n" } ?? "") + PrototxtPrinter.print(message)
        }
    }

    /// `file` names the train_val in the recorded transform's origin.
    public static func make(_ net: NetParameter, file: String = "the train_val net", stages: [String] = [],
                            inputShapes: [String: Shape] = [:]) throws -> Result {
        let state = NetState(phase: .test, stages: stages)
        var problems: [Diagnostic] = []
        let layers = NetGraph.filter(net.layers, state: state, problems: &problems)
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
        let graph = try NetGraph.build(net, options: .init(state: state, inputShapes: inputShapes))

        let dataLayers = layers.filter(isData)
        guard let first = dataLayers.first, !first.tops.isEmpty else {
            throw CaffeError.at(net.message.location, "the net has no data or input layer to turn into an Input layer")
        }
        var notes: [String] = []
        let labelBlobs = Set(dataLayers.flatMap { $0.tops.dropFirst() })
        let dataBlobs = dataLayers.compactMap(\.tops.first)
        let input = try inputLayer(for: dataLayers, graph: graph, inputShapes: inputShapes, notes: &notes)

        // The head that becomes "prob": a loss reading a prediction only label readers read.
        let heads = layers.filter { l in
            [SoftmaxWithLossPlan.type, SigmoidCrossEntropyLossPlan.type].contains(l.type) && l.bottoms.contains { labelBlobs.contains($0) }
                && l.bottoms.first.map { endsNet($0, layers: layers, labels: labelBlobs) } == true
        }
        let mainHead = heads.max { ($0.lossWeights.first ?? 1) <= ($1.lossWeights.first ?? 1) }?.name

        var available: Set<String> = Set(dataBlobs)
        var kept: [LayerParameter?] = []
        var out: [ProtoValue] = [.message(input.message)]
        for l in layers where !isData(l) {
            let readsLabel = l.bottoms.contains { labelBlobs.contains($0) }
            if readsLabel, l.name == mainHead, let pred = l.bottoms.first, available.contains(pred), !available.contains("prob") {
                out.append(.message(probLayer(replacing: l, prediction: pred).message))
                kept.append(nil)
                available.insert("prob")
                notes.append("\(l.label) → \(l.type == SoftmaxWithLossPlan.type ? "Softmax" : "Sigmoid") 'prob'")
                continue
            }
            guard !readsLabel, l.bottoms.allSatisfy({ available.contains($0) }) else {
                notes.append("dropped \(l.label)" + (readsLabel ? " (reads labels)" : " (its input is gone)"))
                continue
            }
            var m = l.proto
            m.clear(.include)
            m.clear(.exclude)
            out.append(.message(m.message))
            kept.append(l)
            available.formUnion(l.tops)
        }
        out = [out[0]] + pruneBranchesOfDroppedHeads(Array(out.dropFirst()), kept: kept, all: layers, notes: &notes)
        var deploy = Caffe.NetParameter()
        if !net.name.isEmpty { deploy.append(.name, .string(net.name)) }
        deploy.set(.layer, values: out)
        let transform = InputTransform(testDataOf: net, file: file, stages: stages)
        if let t = transform { notes.append("\(t.origin) recorded as a comment block (Caffe ignores it; classify applies it)") }
        return Result(message: deploy.message, notes: notes, transform: transform)
    }

    /// One Input layer for the data blobs, named as the first data layer; a
    /// data layer's batch becomes 1 unless `inputShapes` says otherwise.
    private static func inputLayer(for dataLayers: [LayerParameter], graph: NetGraph, inputShapes: [String: Shape],
                                   notes: inout [String]) throws -> Caffe.LayerParameter {
        let first = dataLayers[0]
        let dataBlobs = dataLayers.compactMap(\.tops.first)
        var input = Caffe.LayerParameter(at: first.location)
        input.append(.name, .string(first.name))
        input.append(.type, .string(InputPlan.type))
        var param = Caffe.InputParameter()
        for (l, b) in zip(dataLayers, dataBlobs) {
            guard var shape = inputShapes[b] ?? graph.layers.first(where: { $0.name == l.name })?.topShapes.first ?? nil else {
                throw CaffeError.at(l.location, "\(l.label): the shape of '\(b)' comes from its data files; give it with --input-shape \(b)=N,C,H,W")
            }
            if inputShapes[b] == nil, l.type != InputPlan.type, !shape.isEmpty {
                shape[0] = 1
                notes.append("'\(b)': batch set to 1 (was the data layer's batch size); use --input-shape to choose")
            }
            input.append(.top, .string(b))
            var bs = Caffe.BlobShape()
            for d in shape { bs.append(.dim, .int(Int64(d))) }
            param.append(.shape, .message(bs.message))
        }
        input.append(.inputParam, .message(param.message))
        notes.append("data layer(s) \(dataLayers.map { "'\($0.name)'" }.joined(separator: ", ")) → Input '\(first.name)' for \(dataBlobs.joined(separator: ", "))")
        return input
    }

    /// The Softmax (for SoftmaxWithLoss, keeping its softmax_param) or
    /// Sigmoid layer "prob" that takes the loss head's place.
    private static func probLayer(replacing l: LayerParameter, prediction: String) -> Caffe.LayerParameter {
        let softmax = l.type == SoftmaxWithLossPlan.type
        var m = Caffe.LayerParameter(at: l.location)
        m.append(.name, .string("prob"))
        m.append(.type, .string(softmax ? SoftmaxPlan.type : SigmoidPlan.type))
        m.append(.bottom, .string(prediction))
        m.append(.top, .string("prob"))
        if softmax, l.proto.has(.softmaxParam) { m.append(.softmaxParam, .message(l.proto.softmaxParam.message)) }
        return m
    }

    /// Drops, from the end backwards, layers whose outputs only dropped layers
    /// read (the auxiliary heads' pooling, convolution and classifiers). A top
    /// no layer of the train_val reads stays: it is an output of the net.
    private static func pruneBranchesOfDroppedHeads(_ out: [ProtoValue], kept: [LayerParameter?], all: [LayerParameter],
                                                    notes: inout [String]) -> [ProtoValue] {
        // Each blob's last reader in the train_val (TEST phase), and each layer's place there.
        var lastReader: [String: Int] = [:], position: [String: Int] = [:]
        for (i, l) in all.enumerated() {
            position[l.name] = i
            for b in l.bottoms { lastReader[b] = i }
        }
        var needed: Set<String> = []
        var keep = Array(repeating: true, count: out.count)
        for i in out.indices.reversed() {
            guard let l = kept[i] else {  // the "prob" layer
                if case .message(let m) = out[i] { needed.formUnion(Caffe.LayerParameter(m).bottom) }
                continue
            }
            let at = position[l.name] ?? 0
            let isOutput = l.tops.contains { (lastReader[$0] ?? -1) <= at }
            if isOutput || l.tops.contains(where: { needed.contains($0) }) {
                needed.formUnion(l.bottoms)
            } else {
                keep[i] = false
                notes.append("dropped \(l.label) (it feeds only dropped layers)")
            }
        }
        return zip(out, keep).filter(\.1).map(\.0)
    }

    /// Whether only label-reading layers (losses, accuracy) read `blob`.
    private static func endsNet(_ blob: String, layers: [LayerParameter], labels: Set<String>) -> Bool {
        layers.filter { $0.bottoms.contains(blob) }.allSatisfy { $0.bottoms.contains { labels.contains($0) } }
    }
}
