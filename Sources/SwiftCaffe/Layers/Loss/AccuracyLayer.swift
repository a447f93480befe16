/// Top-k accuracy; an optional second top gives per-class accuracy.
struct AccuracyPlan: LayerPlan {
    static let type = "Accuracy"
    static let bottoms = 2...2
    static let tops = 1...2
    let axis: Int
    let topK: Int
    let param: Caffe.AccuracyParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.accuracyParam
        axis = param.axis
        topK = param.topK
        guard topK > 0 else { throw PlanError("top_k must be > 0", at: param.location(of: .topK)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try checkLabels(b[0], b[1], axis: axis, at: param.location(of: .axis))
        guard topK <= b[0][a] else {
            throw PlanError("top_k (\(topK)) must not exceed the \(b[0][a]) classes", at: param.location(of: .topK))
        }
        return PlannedShapes(tops: [[], [b[0][a]]])
    }
}

/// The fraction of positions whose label is among the top_k scores along
/// `axis` (a label scores better-than-or-equal to at most k−1 others);
/// positions labelled ignore_label are skipped. A second top gives the
/// accuracy per class. It has no gradient.
final class AccuracyLayer: Layer {
    private let accuracy: AccuracyPlan
    private let ignoreLabel: Int?

    required init(_ ctx: LayerContext) throws {
        accuracy = ctx.plan(AccuracyPlan.self)
        let p = ctx.parameter.proto.accuracyParam
        ignoreLabel = p.has(.ignoreLabel) ? p.ignoreLabel : nil
        try super.init(ctx)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (outer, channels, inner) = try SoftmaxLayer.split(bottoms[0], axis: accuracy.axis)
        let x = bottoms[0].data, labels = bottoms[1].data
        var correct = 0, total = 0
        var perClass = Array(repeating: 0, count: channels), perClassTotal = Array(repeating: 0, count: channels)
        for o in 0..<outer {
            for i in 0..<inner {
                let label = try classLabel(labels[o * inner + i], at: o * inner + i)
                if label == ignoreLabel { continue }
                guard label >= 0, label < channels else { throw fail("label \(label) at position \(o * inner + i) is outside 0..<\(channels)") }
                let score = x[(o * channels + label) * inner + i]
                var better = 0
                for c in 0..<channels where x[(o * channels + c) * inner + i] > score { better += 1 }
                total += 1
                perClassTotal[label] += 1
                if better < accuracy.topK {
                    correct += 1
                    perClass[label] += 1
                }
            }
        }
        tops[0].data[0] = total == 0 ? 0 : Float(correct) / Float(total)
        if tops.count > 1 {
            for c in 0..<channels { tops[1].data[c] = perClassTotal[c] == 0 ? 0 : Float(perClass[c]) / Float(perClassTotal[c]) }
        }
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    override var classLabelBottom: Int? { 1 }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown.contains(true) { throw fail("Accuracy has no gradient") }
    }
}
