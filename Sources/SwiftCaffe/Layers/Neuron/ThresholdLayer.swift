import Foundation

/// x > threshold ? 1 : 0
struct ThresholdPlan: NeuronPlan {
    static let type = "Threshold"
    init(_ l: LayerParameter) throws {}
}

/// y = x > threshold ? 1 : 0. Not differentiable; Caffe has no backward for it.
final class ThresholdLayer: NeuronLayer {
    private let threshold: Float

    required init(_ ctx: LayerContext) throws {
        threshold = Float(ctx.parameter.proto.thresholdParam.threshold)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { x > threshold ? 1 : 0 }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[0] { throw fail("Threshold has no gradient; set propagate_down: false or remove force_backward") }
    }
}
