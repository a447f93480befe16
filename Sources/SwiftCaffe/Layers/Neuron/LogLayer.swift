import Foundation

/// log_base(shift + scale · x), base e when base is −1.
struct LogPlan: NeuronPlan {
    static let type = "Log"
    let lnBase: Float

    init(_ l: LayerParameter) throws {
        let p = l.proto.logParam
        lnBase = try naturalLogOfBase(p.base, at: p.location(of: .base))
    }
}

/// y = log_base(shift + scale·x) (base e when −1); dx = dy·scale / ((shift + scale·x)·ln(base)).
final class LogLayer: NeuronLayer {
    private let invLnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.logParam
        invLnBase = 1 / ctx.plan(LogPlan.self).lnBase
        scale = Float(p.scale)
        shift = Float(p.shift)
        try super.init(ctx)
    }

    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { log(shift + scale * x) * invLnBase }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * scale * invLnBase / (shift + scale * x) }
}
