import Foundation

/// y = max(0, x) + ν·min(0, x) (ν = negative_slope); dx = dy·(x > 0 ? 1 : ν).
final class ReLULayer: NeuronLayer {
    private let slope: Float

    required init(_ ctx: LayerContext) throws {
        slope = Float(ctx.parameter.param("relu_param").float("negative_slope"))
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { x > 0 ? x : slope * x }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { x > 0 ? dy : slope * dy }
}
