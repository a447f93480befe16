/// What the loss layers share: their shape rules, and being losses
/// (Caffe's LossLayer: a default loss weight of 1 on the first top, and a top
/// made for them when the prototxt gives none).

/// Loss layers: a scalar top (Caffe's empty shape) and, for some, extra outputs.
/// The label count must equal the number of predictions, as Caffe checks.
func checkLabels(_ pred: Shape, _ label: Shape, axis: Int, at axisLocation: SourceLocation?) throws -> Int {
    let a = try canonicalAxis(axis, pred.count, at: axisLocation)
    let expected = product(count(pred, to: a), count(pred, from: a + 1))
    guard count(label) == expected else {
        throw PlanError("the label blob has \(count(label)) values but the predictions \(describe(pred)) need \(expected) "
                        + "(one per position outside axis \(a))")
    }
    return a
}

/// Losses comparing two blobs of the same size.
protocol PairLossPlan: LayerPlan {}

extension PairLossPlan {
    static var isLoss: Bool { true }
    static var bottoms: ClosedRange<Int> { 2...2 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard count(b[0]) == count(b[1]) else {
            throw PlanError("both bottoms must have the same count: \(describe(b[0])) vs \(describe(b[1]))")
        }
        return PlannedShapes(tops: [[]])
    }
}

/// Losses of N items' scores (everything after the first axis) against one
/// class label per item, as Caffe's HingeLoss and MultinomialLogisticLoss
/// read them.
protocol ItemLabelLossPlan: LayerPlan {}

extension ItemLabelLossPlan {
    static var isLoss: Bool { true }
    static var bottoms: ClosedRange<Int> { 2...2 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard let n = b[0].first, count(b[1]) == n else {
            throw PlanError("the label blob has \(count(b[1])) values but the predictions \(describe(b[0])) need \(b[0].first ?? 0) (one per item)")
        }
        return PlannedShapes(tops: [[]])
    }
}

extension Layer {
    /// Label `i` as a class in 0..<classes, or an error naming it.
    func labelClass(_ labels: UnsafeMutablePointer<Float>, _ i: Int, classes: Int) throws -> Int {
        let label = try classLabel(labels[i], at: i)
        guard label >= 0, label < classes else { throw fail("label \(label) at position \(i) is outside 0..<\(classes)") }
        return label
    }
}

/// loss_param.normalization: what a loss is divided by. FULL: every position;
/// VALID: positions not ignored; BATCH_SIZE: the outer count; NONE: 1.
typealias LossNormalization = Caffe.LossParameter.NormalizationMode

extension LossNormalization {
    /// The field, or the deprecated `normalize` flag (true: VALID, false:
    /// BATCH_SIZE), or the layer's own default.
    /// What the summed loss is divided by, never less than 1: `valid` counts
    /// the positions not ignored.
    func divisor(outer: Int, inner: Int, valid: Int) -> Float {
        switch self {
        case .full: return Float(max(1, outer * inner))
        case .valid: return Float(max(1, valid))
        case .batchSize: return Float(max(1, outer))
        case .none: return 1
        }
    }

    init(_ lp: Caffe.LossParameter, default d: LossNormalization) {
        if lp.has(.normalization) {
            self = lp.normalization
        } else if lp.has(.normalize) {
            self = lp.normalize ? .valid : .batchSize
        } else {
            self = d
        }
    }
}
