import Foundation

/// (shift + scale · x)^power
struct PowerPlan: NeuronPlan {
    static let type = "Power"
    init(_ l: LayerParameter) throws {}
}

/// y = (shift + scale·x)^power; dx = dy·power·scale·(shift + scale·x)^(power−1).
final class PowerLayer: NeuronLayer {
    private let power, scale, shift: Float

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.powerParam
        power = Float(p.power)
        scale = Float(p.scale)
        shift = Float(p.shift)
        try super.init(ctx)
    }

    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { power == 1 ? shift + scale * x : pow(shift + scale * x, power) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float {
        if power == 1 { return dy * scale }
        if power == 2 { return dy * 2 * scale * (shift + scale * x) }
        return dy * power * scale * pow(shift + scale * x, power - 1)
    }
}
