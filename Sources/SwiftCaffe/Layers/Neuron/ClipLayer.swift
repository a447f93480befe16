import Foundation

/// y = min(max(x, min), max) (clip_param, both required);
/// dx = dy where min ≤ x ≤ max, else 0, as Caffe's ClipLayer.
struct ClipPlan: NeuronPlan {
    static let type = "Clip"
    let min: Float
    let max: Float
    let param: Caffe.ClipParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.clipParam
        guard param.has(.min), param.has(.max) else { throw PlanError("clip_param needs both min and max", at: param.location) }
        guard param.min <= param.max else { throw PlanError("clip_param min must be ≤ max", at: param.location(of: .min)) }
        min = Float(param.min)
        max = Float(param.max)
    }
}

final class ClipLayer: NeuronLayer {
    private let clip: ClipPlan

    required init(_ ctx: LayerContext) throws {
        clip = ctx.plan(ClipPlan.self)
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
