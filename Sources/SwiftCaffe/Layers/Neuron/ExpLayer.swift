import Foundation

/// base^(shift + scale · x), base e when base is −1.
struct ExpPlan: NeuronPlan {
    static let type = "Exp"
    init(_ l: LayerParameter) throws {
        let b = l.param("exp_param").float("base")
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: "exp_param", "base") }
    }
}

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
