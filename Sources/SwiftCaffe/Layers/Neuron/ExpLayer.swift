import Foundation

/// base^(shift + scale · x), base e when base is −1.
struct ExpPlan: NeuronPlan {
    static let type = "Exp"
    let param: Caffe.ExpParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.expParam
        let b = l.proto.expParam.base
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: param.location(of: .base)) }
    }
}

/// y = base^(shift + scale·x) (base e when −1); dx = dy·y·ln(base)·scale.
final class ExpLayer: NeuronLayer {
    private let lnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.expParam
        let base = Float(p.base)
        lnBase = base == -1 ? 1 : log(base)
        scale = Float(p.scale)
        shift = Float(p.shift)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { exp(lnBase * (shift + scale * x)) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * y * lnBase * scale }
}
