/// SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on, times coeff.
struct ReductionPlan: LayerPlan {
    static let type = "Reduction"
    static let bottoms = 1...1
    static let tops = 1...1
    var axis: Int { param.axis }
    let param: Caffe.ReductionParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.reductionParam
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        return PlannedShapes(tops: [Array(b[0][..<a])])
    }
}

/// One value per leading index: coeff · (Σx, Σ|x|, Σx² or the mean) over its
/// block; backward coeff · (1, sign x, 2x or 1/n) · dy.
final class ReductionLayer: Layer {
    private let reduction: ReductionPlan

    required init(_ ctx: LayerContext) throws {
        reduction = ctx.plan(ReductionPlan.self)
        try super.init(ctx)
    }

    private func sizes(_ b: Blob) -> (outer: Int, inner: Int) {
        let axis = reduction.axis < 0 ? reduction.axis + b.numAxes : reduction.axis
        return (b.count(from: 0, to: axis), b.count(from: axis))
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (outer, inner) = sizes(bottoms[0]), x = bottoms[0].data, y = tops[0].data, coeff = Float(reduction.param.coeff)
        for o in 0..<outer {
            let block = x + o * inner
            var s: Float = 0
            switch reduction.param.operation {
            case .sum, .mean: for i in 0..<inner { s += block[i] }
            case .asum: for i in 0..<inner { s += abs(block[i]) }
            case .sumsq: for i in 0..<inner { s += block[i] * block[i] }
            }
            if reduction.param.operation == .mean, inner > 0 { s /= Float(inner) }
            y[o] = s * coeff
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (outer, inner) = sizes(bottoms[0]), x = bottoms[0].data, dx = bottoms[0].diff, dy = tops[0].diff
        let coeff = Float(reduction.param.coeff)
        for o in 0..<outer {
            let g = dy[o] * coeff, at = o * inner
            switch reduction.param.operation {
            case .sum: for i in at..<(at + inner) { dx[i] = g }
            case .mean: for i in at..<(at + inner) { dx[i] = g / Float(inner) }
            case .asum: for i in at..<(at + inner) { dx[i] = x[i] > 0 ? g : x[i] < 0 ? -g : 0 }
            case .sumsq: for i in at..<(at + inner) { dx[i] = 2 * x[i] * g }
            }
        }
    }
}
