import Foundation

/// log_base(shift + scale · x), base e when base is −1.
struct LogPlan: NeuronPlan {
    static let type = "Log"
    let param: Caffe.LogParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.logParam
        let b = l.proto.logParam.base
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: param.location(of: .base)) }
    }
}

/// y = log_base(shift + scale·x) (base e when −1); dx = dy·scale / ((shift + scale·x)·ln(base)).
final class LogLayer: NeuronLayer {
    private let invLnBase, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.logParam
        let base = Float(p.base)
        invLnBase = base == -1 ? 1 : 1 / log(base)
        scale = Float(p.scale)
        shift = Float(p.shift)
        try super.init(ctx)
    }

    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { log(shift + scale * x) * invLnBase }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * scale * invLnBase / (shift + scale * x) }
}
