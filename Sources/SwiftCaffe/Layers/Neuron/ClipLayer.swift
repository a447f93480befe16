import Foundation

/// y = min(max(x, min), max) (clip_param, both required);
/// dx = dy where min ≤ x ≤ max, else 0, as Caffe's ClipLayer.
struct ClipPlan: NeuronPlan {
    static let type = "Clip"
    let min: Float
    let max: Float

    init(_ l: LayerParameter) throws {
        let p = l.param("clip_param")
        guard p.has("min"), p.has("max") else { throw PlanError("clip_param needs both min and max", at: "clip_param") }
        guard p.float("min") <= p.float("max") else { throw PlanError("clip_param min must be ≤ max", at: "clip_param", "min") }
        min = Float(p.float("min"))
        max = Float(p.float("max"))
    }
}

final class ClipLayer: NeuronLayer {
    private let clip: ClipPlan

    required init(_ ctx: LayerContext) throws {
        clip = try ClipPlan(ctx.parameter)
        try super.init(ctx)
    }

    /// std::max(min, std::min(x, max)) term for term, so a NaN input gives
    /// `min` as it does in Caffe.
    override func forwardElement(_ x: Float) -> Float {
        let upper = clip.max < x ? clip.max : x
        return clip.min < upper ? upper : clip.min
    }

    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { x >= clip.min && x <= clip.max ? dy : 0 }

    override var backwardReadsBottom: Bool { true }
}
