import Foundation

/// log_base(shift + scale · x), base e when base is −1.
struct LogPlan: NeuronPlan {
    static let type = "Log"
    init(_ l: LayerParameter) throws {
        let b = l.param("log_param").float("base")
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: "log_param", "base") }
    }
}

/// y = log_base(shift + scale·x) (base e when −1); dx = dy·scale / ((shift + scale·x)·ln(base)).
final class LogLayer: NeuronLayer {
    private let invLnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.param("log_param")
        let base = Float(p.float("base"))
        invLnBase = base == -1 ? 1 : 1 / log(base)
        scale = Float(p.float("scale"))
        shift = Float(p.float("shift"))
        try super.init(ctx)
    }

    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { log(shift + scale * x) * invLnBase }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * scale * invLnBase / (shift + scale * x) }
}
