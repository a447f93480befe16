import Foundation

/// Training: x · mask / (1 − ratio) with mask ~ Bernoulli(1 − ratio); testing: x.
struct DropoutPlan: NeuronPlan {
    static let type = "Dropout"
    let param: Caffe.DropoutParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.dropoutParam
        let r = l.proto.dropoutParam.dropoutRatio
        guard r >= 0, r < 1 else { throw PlanError("dropout_ratio must be in [0, 1), found \(r)", at: param.location(of: .dropoutRatio)) }
    }
}

/// Training: y = x·m / (1 − p) with m ~ Bernoulli(1 − p), drawn from the
/// layer's seeded stream; dx = dy·m / (1 − p). Testing: y = x.
final class DropoutLayer: Layer {
    private let ratio: Float
    private var rng: RandomSource
    private var mask: [Bool] = []

    required init(_ ctx: LayerContext) throws {
        ratio = Float(ctx.parameter.proto.dropoutParam.dropoutRatio)
        rng = ctx.rng
        try super.init(ctx)
    }

    override func reseed(_ rng: RandomSource) { self.rng = rng }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (x, y, n) = (bottoms[0].data, tops[0].data, bottoms[0].count)
        guard phase == .train else {
            if x != y { y.update(from: x, count: n) }
            return
        }
        let scale = 1 / (1 - ratio)
        if mask.count != n { mask = Array(repeating: false, count: n) }
        for i in 0..<n {
            mask[i] = rng.uniform() >= ratio
            y[i] = mask[i] ? x[i] * scale : 0
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (dy, dx, n) = (tops[0].diff, bottoms[0].diff, bottoms[0].count)
        guard phase == .train else {
            if dx != dy { dx.update(from: dy, count: n) }
            return
        }
        let scale = 1 / (1 - ratio)
        for i in 0..<n { dx[i] = mask[i] ? dy[i] * scale : 0 }
    }
}
