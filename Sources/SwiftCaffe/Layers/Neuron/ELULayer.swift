import Foundation

/// x for x > 0, α(e^x − 1) otherwise
struct ELUPlan: NeuronPlan {
    static let type = "ELU"
    init(_ l: LayerParameter) throws {}
}

/// y = x for x > 0, α(e^x − 1) otherwise; dx = dy for x > 0, dy·(y + α) otherwise.
final class ELULayer: NeuronLayer {
    private let alpha: Float

    required init(_ ctx: LayerContext) throws {
        alpha = Float(ctx.parameter.proto.eluParam.alpha)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { x > 0 ? x : alpha * (exp(x) - 1) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { x > 0 ? dy : dy * (y + alpha) }
}
