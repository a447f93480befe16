/// Siamese loss over two feature blobs and a similarity label.
struct ContrastiveLossPlan: LayerPlan {
    static let type = "ContrastiveLoss"
    static let isLoss = true
    static let bottoms = 3...3
    static let tops = 1...1
    init(_ l: LayerParameter) throws {}

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0] == b[1] else { throw PlanError("the two feature bottoms must match: \(describe(b[0])) vs \(describe(b[1]))") }
        guard b[2].first == b[0].first else { throw PlanError("the label bottom needs one value per pair (\(b[0].first ?? 0))") }
        return PlannedShapes(tops: [[]])
    }
}
