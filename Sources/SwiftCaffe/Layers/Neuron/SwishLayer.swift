import Foundation

/// y = x · σ(βx) (swish_param beta, default 1);
/// dx = dy · (βy + σ(βx)(1 − βy)), as Caffe's SwishLayer computes it.
struct SwishPlan: NeuronPlan {
    static let type = "Swish"
    init(_ l: LayerParameter) throws {}
}

final class SwishLayer: NeuronLayer {
    private let beta: Float

    required init(_ ctx: LayerContext) throws {
        beta = Float(ctx.parameter.proto.swishParam.beta)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { x / (1 + exp(-beta * x)) }

    override func backwardElement(x: Float, y: Float, dy: Float) -> Float {
        let s = 1 / (1 + exp(-beta * x))
        return dy * (beta * y + s * (1 - beta * y))
    }

    override var backwardReadsBottom: Bool { true }
}
