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

/// Losses of predictions against integer labels.
protocol LabelLossPlan: LayerPlan {}

extension LabelLossPlan {
    static var isLoss: Bool { true }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try checkLabels(b[0], b[1], axis: 1, at: nil)
        return PlannedShapes(tops: [[]])
    }
}

/// loss_param.normalization: what a loss is divided by. FULL: every position;
/// VALID: positions not ignored; BATCH_SIZE: the outer count; NONE: 1.
typealias LossNormalization = Caffe.LossParameter.NormalizationMode

extension LossNormalization {
    /// The field, or the deprecated `normalize` flag (true: VALID, false:
    /// BATCH_SIZE), or the layer's own default.
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
