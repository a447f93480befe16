import Foundation

/// Batch normalisation with Caffe's three blobs: mean, variance, and the
/// moving-average scale factor.
struct BatchNormPlan: LayerPlan {
    static let type = "BatchNorm"
    static let bottoms = 1...1
    static let tops = 1...1
    let param: Caffe.BatchNormParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.batchNormParam
        let f = l.proto.batchNormParam.movingAverageFraction
        guard f >= 0, f <= 1 else { throw PlanError("moving_average_fraction must be in [0, 1]", at: param.location(of: .movingAverageFraction)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let c = b[0].count == 1 ? 1 : b[0][1]
        return PlannedShapes(tops: [b[0]], params: [[c], [c], [1]])
    }
}

/// Batch normalisation with Caffe's three blobs: running mean, running
/// variance and the moving-average scale factor s (statistics are the blobs
/// divided by s). Training (use_global_stats false, the default in TRAIN):
///   y = (x − μ_B) / √(σ²_B + ε) per channel over batch and space;
///   s ← λs + 1, mean ← λ·mean + μ_B, var ← λ·var + m/(m−1)·σ²_B (λ = moving_average_fraction);
///   dx = (dy − mean(dy) − y·mean(dy·y)) / √(σ²_B + ε).
/// Testing (use_global_stats, the default in TEST): y = (x − mean/s) / √(var/s + ε), dx = dy / √(var/s + ε).
/// The statistics are never learned: a ParamSpec with lr_mult ≠ 0 is an error.
final class BatchNormLayer: Layer {
    let useGlobal: Bool
    let eps: Float
    private let fraction: Float
    private var mean: [Float] = [], invStd: [Float] = []

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.batchNormParam
        useGlobal = p.has(.useGlobalStats) ? p.useGlobalStats : ctx.phase == .test
        fraction = Float(p.movingAverageFraction)
        eps = Float(p.eps)
        for (i, spec) in ctx.parameter.params.enumerated() where spec.lrMult != 0 {
            throw CaffeError.at(ctx.parameter.location, "\(ctx.parameter.label): param \(i) has lr_mult \(spec.lrMult); "
                                + "batch normalisation statistics are not learned, give lr_mult 0 or no param")
        }
        try super.init(ctx)
    }

    override var statisticsOnly: Bool { true }

    private func dims(_ b: Blob) -> (n: Int, c: Int, spatial: Int) {
        let c = b.numAxes == 1 ? 1 : b.dim(1)
        return (b.dim(0), c, b.count / max(b.dim(0) * c, 1))
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (n, c, spatial) = dims(bottoms[0])
        let x = bottoms[0].data, y = tops[0].data
        let m = n * spatial
        mean = Array(repeating: 0, count: c)
        invStd = Array(repeating: 0, count: c)
        if useGlobal {
            let s = params[2].data[0] == 0 ? 0 : 1 / params[2].data[0]
            for ch in 0..<c {
                mean[ch] = params[0].data[ch] * s
                invStd[ch] = 1 / (params[1].data[ch] * s + eps).squareRoot()
            }
        } else {
            var variance = Array(repeating: Float(0), count: c)
            for ch in 0..<c {
                var sum: Double = 0, sq: Double = 0
                for i in 0..<n {
                    let row = x + (i * c + ch) * spatial
                    for j in 0..<spatial {
                        sum += Double(row[j])
                        sq += Double(row[j]) * Double(row[j])
                    }
                }
                let mu = sum / Double(m)
                mean[ch] = Float(mu)
                variance[ch] = Float(max(sq / Double(m) - mu * mu, 0))
                invStd[ch] = 1 / (variance[ch] + eps).squareRoot()
            }
            let correction = m > 1 ? Float(m) / Float(m - 1) : 1
            params[2].data[0] = params[2].data[0] * fraction + 1
            for ch in 0..<c {
                params[0].data[ch] = params[0].data[ch] * fraction + mean[ch]
                params[1].data[ch] = params[1].data[ch] * fraction + correction * variance[ch]
            }
        }
        for i in 0..<n {
            for ch in 0..<c {
                let base = (i * c + ch) * spatial
                for j in 0..<spatial { y[base + j] = (x[base + j] - mean[ch]) * invStd[ch] }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (n, c, spatial) = dims(bottoms[0])
        let y = tops[0].data, dy = tops[0].diff, dx = bottoms[0].diff
        let m = Float(n * spatial)
        for ch in 0..<c {
            var sumDy: Float = 0, sumDyY: Float = 0
            if !useGlobal {
                for i in 0..<n {
                    let base = (i * c + ch) * spatial
                    for j in 0..<spatial {
                        sumDy += dy[base + j]
                        sumDyY += dy[base + j] * y[base + j]
                    }
                }
            }
            for i in 0..<n {
                let base = (i * c + ch) * spatial
                for j in 0..<spatial {
                    let k = base + j
                    dx[k] = useGlobal ? dy[k] * invStd[ch] : (dy[k] - sumDy / m - y[k] * sumDyY / m) * invStd[ch]
                }
            }
        }
    }
}
