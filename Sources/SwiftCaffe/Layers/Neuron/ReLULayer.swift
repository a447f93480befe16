import Foundation

/// max(0, x) + negative_slope · min(0, x)
struct ReLUPlan: NeuronPlan {
    static let type = "ReLU"
    init(_ l: LayerParameter) throws {}
}

/// y = max(0, x) + ν·min(0, x) (ν = negative_slope); dx = dy·(x > 0 ? 1 : ν).
final class ReLULayer: NeuronLayer {
    let slope: Float

    required init(_ ctx: LayerContext) throws {
        slope = Float(ctx.parameter.proto.reluParam.negativeSlope)
        try super.init(ctx)
    }

    override func forwardElement(_ x: Float) -> Float { x > 0 ? x : slope * x }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { x > 0 ? dy : slope * dy }

    // The hottest element-wise layer: loops without per-element dispatch.
    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let p = ElementwisePointers(bottom: bottoms[0], top: tops[0])
        let slope = self.slope
        parallelRanges(bottoms[0].count) { r in
            for i in r {
                let v = p.x[i]
                p.y[i] = v > 0 ? v : slope * v
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let p = ElementwisePointers(bottom: bottoms[0], top: tops[0])
        let slope = self.slope
        parallelRanges(bottoms[0].count) { r in
            for i in r { p.dx[i] = p.x[i] > 0 ? p.dy[i] : slope * p.dy[i] }
        }
    }
}
