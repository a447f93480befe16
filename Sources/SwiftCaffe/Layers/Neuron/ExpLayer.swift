import Foundation

/// y = base^(shift + scale·x) (base e when −1); dx = dy·y·ln(base)·scale.
final class ExpLayer: NeuronLayer {
    private let lnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.param("exp_param")
        let base = Float(p.float("base"))
        lnBase = base == -1 ? 1 : log(base)
        scale = Float(p.float("scale"))
        shift = Float(p.float("shift"))
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { exp(lnBase * (shift + scale * x)) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * y * lnBase * scale }
}
