/// SSD's training loss (weiliu89/caffe, multibox_loss_param): bottoms box
/// offsets, confidences, priors and the ground-truth boxes of an
/// AnnotatedData layer; a scalar loss. Planned so SSD train nets can be read
/// and summarized; not run (README, "Detection").
struct MultiBoxLossPlan: LayerPlan {
    static let type = "MultiBoxLoss"
    static let bottoms = 4...4
    static let tops = 1...1
    static let isLoss = true
    static let refusal = "SSD training (MultiBoxLoss) is not supported: SwiftCaffe runs SSD nets for inference "
        + "(a deploy net ending in DetectionOutput; `swiftcaffe deploy` makes one); train them with the SSD fork"

    init(_ l: LayerParameter) throws {}

    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [[]]) }
}
