import Foundation

/// Mean (and variance) normalisation per channel or across channels.
struct MVNPlan: LayerPlan {
    static let type = "MVN"
    static let bottoms = 1...1
    static let tops = 1...1
    init(_ l: LayerParameter) throws {}
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [b[0]]) }
}

/// Mean-variance normalisation per channel of each item (or per item with
/// across_channels): y = x − μ, and with normalize_variance
/// y = (x − μ) / (σ + ε) — Caffe adds ε to σ, not to σ² (OpenCV differs).
/// dx = (dy − mean(dy) − y·mean(dy·y)) / (σ + ε), or dy − mean(dy).
final class MVNLayer: Layer {
    private let normalizeVariance, acrossChannels: Bool
    private let eps: Float
    private var sigma: [Float] = []

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.mvnParam
        normalizeVariance = p.normalizeVariance
        acrossChannels = p.acrossChannels
        eps = Float(p.eps)
        try super.init(ctx)
    }

    private func rows(_ b: Blob) -> (Int, Int) {
        let r = acrossChannels ? b.dim(0) : b.dim(0) * (b.numAxes > 1 ? b.dim(1) : 1)
        return (r, b.count / max(r, 1))
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (n, dim) = rows(bottoms[0])
        let x = bottoms[0].data, y = tops[0].data
        sigma = Array(repeating: 1, count: n)
        for r in 0..<n {
            let base = r * dim
            var sum: Double = 0, sq: Double = 0
            for j in 0..<dim {
                sum += Double(x[base + j])
                sq += Double(x[base + j]) * Double(x[base + j])
            }
            let mu = Float(sum / Double(dim))
            if normalizeVariance { sigma[r] = Float(max(sq / Double(dim) - Double(mu) * Double(mu), 0).squareRoot()) + eps }
            for j in 0..<dim { y[base + j] = (x[base + j] - mu) / (normalizeVariance ? sigma[r] : 1) }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (n, dim) = rows(bottoms[0])
        let y = tops[0].data, dy = tops[0].diff, dx = bottoms[0].diff
        for r in 0..<n {
            let base = r * dim
            var sumDy: Float = 0, sumDyY: Float = 0
            for j in 0..<dim {
                sumDy += dy[base + j]
                sumDyY += dy[base + j] * y[base + j]
            }
            let m = Float(dim)
            for j in 0..<dim {
                dx[base + j] = normalizeVariance ? (dy[base + j] - sumDy / m - y[base + j] * sumDyY / m) / sigma[r]
                    : dy[base + j] - sumDy / m
            }
        }
    }
}
