import Foundation

/// base^(shift + scale · x), base e when base is −1.
struct ExpPlan: NeuronPlan {
    static let type = "Exp"
    let lnBase: Float

    init(_ l: LayerParameter) throws {
        let p = l.proto.expParam
        lnBase = try naturalLogOfBase(p.base, at: p.location(of: .base))
    }
}

/// y = base^(shift + scale·x) (base e when −1); dx = dy·y·ln(base)·scale.
final class ExpLayer: NeuronLayer {
    private let lnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.expParam
        lnBase = ctx.plan(ExpPlan.self).lnBase
        scale = Float(p.scale)
        shift = Float(p.shift)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { exp(lnBase * (shift + scale * x)) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * y * lnBase * scale }
}
