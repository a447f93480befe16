/// Loss layers: a scalar top (Caffe's empty shape) and, for some, extra outputs.
/// The label count must equal the number of predictions, as Caffe checks.
private func checkLabels(_ pred: Shape, _ label: Shape, axis: Int, field: String) throws -> Int {
    let a = try canonicalAxis(axis, pred.count, field: field, "axis")
    let expected = product(count(pred, to: a), count(pred, from: a + 1))
    guard count(label) == expected else {
        throw PlanError("the label blob has \(count(label)) values but the predictions \(describe(pred)) need \(expected) "
                        + "(one per position outside axis \(a))")
    }
    return a
}

/// −log softmax(x)[label], averaged as `loss_param.normalization` says.
struct SoftmaxWithLossPlan: LayerPlan {
    static let type = "SoftmaxWithLoss"
    static let bottoms = 2...2
    static let tops = 1...2
    let axis: Int
    init(_ l: LayerParameter) throws { axis = l.param("softmax_param").int("axis") }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try checkLabels(b[0], b[1], axis: axis, field: "softmax_param")
        return PlannedShapes(tops: [[], b[0]])
    }
}

/// Top-k accuracy; an optional second top gives per-class accuracy.
struct AccuracyPlan: LayerPlan {
    static let type = "Accuracy"
    static let bottoms = 2...2
    static let tops = 1...2
    let axis: Int
    let topK: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("accuracy_param")
        axis = p.int("axis")
        topK = p.int("top_k")
        guard topK > 0 else { throw PlanError("top_k must be > 0", at: "accuracy_param", "top_k") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try checkLabels(b[0], b[1], axis: axis, field: "accuracy_param")
        guard topK <= b[0][a] else {
            throw PlanError("top_k (\(topK)) must not exceed the \(b[0][a]) classes", at: "accuracy_param", "top_k")
        }
        return PlannedShapes(tops: [[], [b[0][a]]])
    }
}

/// Losses comparing two blobs of the same size.
protocol PairLossPlan: LayerPlan {}

extension PairLossPlan {
    static var bottoms: ClosedRange<Int> { 2...2 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard count(b[0]) == count(b[1]) else {
            throw PlanError("both bottoms must have the same count: \(describe(b[0])) vs \(describe(b[1]))")
        }
        return PlannedShapes(tops: [[]])
    }
}

/// ½N · Σ (a − b)²
struct EuclideanLossPlan: PairLossPlan {
    static let type = "EuclideanLoss"
    init(_ l: LayerParameter) throws {}
}

struct SigmoidCrossEntropyLossPlan: PairLossPlan {
    static let type = "SigmoidCrossEntropyLoss"
    init(_ l: LayerParameter) throws {}
}

/// Losses of predictions against integer labels.
protocol LabelLossPlan: LayerPlan {}

extension LabelLossPlan {
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try checkLabels(b[0], b[1], axis: 1, field: "loss_param")
        return PlannedShapes(tops: [[]])
    }
}

struct HingeLossPlan: LabelLossPlan {
    static let type = "HingeLoss"
    static let bottoms = 2...2
    init(_ l: LayerParameter) throws {}
}

struct MultinomialLogisticLossPlan: LabelLossPlan {
    static let type = "MultinomialLogisticLoss"
    static let bottoms = 2...2
    init(_ l: LayerParameter) throws {}
}

/// The infogain matrix comes from `source` or a third bottom.
struct InfogainLossPlan: LabelLossPlan {
    static let type = "InfogainLoss"
    static let bottoms = 2...3
    init(_ l: LayerParameter) throws {}
}

/// Siamese loss over two feature blobs and a similarity label.
struct ContrastiveLossPlan: LayerPlan {
    static let type = "ContrastiveLoss"
    static let bottoms = 3...3
    static let tops = 1...1
    init(_ l: LayerParameter) throws {}

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0] == b[1] else { throw PlanError("the two feature bottoms must match: \(describe(b[0])) vs \(describe(b[1]))") }
        guard b[2].first == b[0].first else { throw PlanError("the label bottom needs one value per pair (\(b[0].first ?? 0))") }
        return PlannedShapes(tops: [[]])
    }
}
