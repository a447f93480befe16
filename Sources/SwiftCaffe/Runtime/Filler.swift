import Foundation

/// Caffe's fillers: constant, uniform, gaussian (with `sparse`), xavier and
/// msra (variance_norm FAN_IN / FAN_OUT / AVERAGE), positive_unitball, bilinear.
/// fan_in = count / shape[0], fan_out = count / shape[1], as Caffe computes them.
public struct Filler {
    public enum Kind: String, CaseIterable { case constant, uniform, gaussian, xavier, msra, positive_unitball, bilinear }

    let kind: Kind
    let value, min, max, mean, std: Float
    let sparse: Int
    /// Which fan xavier and msra divide by.
    typealias VarianceNorm = Caffe.FillerParameter.VarianceNorm
    let varianceNorm: VarianceNorm

    /// Decodes a FillerParameter (an empty one: Caffe's default, constant 0).
    init(_ p: Caffe.FillerParameter = Caffe.FillerParameter()) throws {
        guard let k = Kind(rawValue: p.type) else {
            throw CaffeError.at(p.location(of: .type),
                                "unknown filler type \"\(p.type)\"; valid types: " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        kind = k
        value = Float(p.value)
        min = Float(p.min)
        max = Float(p.max)
        mean = Float(p.mean)
        std = Float(p.std)
        sparse = p.sparse
        varianceNorm = p.varianceNorm
    }

    /// A constant filler (a default Caffe's layer code sets, e.g. Scale's γ = 1).
    static func constant(_ value: Double) throws -> Filler {
        var p = Caffe.FillerParameter()
        p.set(.value, .float(value))
        return try Filler(p)
    }

    public func fill(_ blob: Blob, _ rng: inout RandomSource) {
        let n = blob.count
        let d = blob.data
        switch kind {
        case .constant:
            d.update(repeating: value, count: n)
        case .uniform:
            for i in 0..<n { d[i] = rng.uniform(min, max) }
        case .gaussian:
            for i in 0..<n { d[i] = mean + std * rng.gaussian() }
            if sparse >= 0, blob.numAxes >= 1 {
                // Keep each weight with probability sparse / num_outputs.
                let keep = Float(sparse) / Float(Swift.max(blob.dim(0), 1))
                for i in 0..<n where rng.uniform() >= keep { d[i] = 0 }
            }
        case .xavier:
            let scale = (3 / fan(blob)).squareRoot()
            for i in 0..<n { d[i] = rng.uniform(-scale, scale) }
        case .msra:
            let s = (2 / fan(blob)).squareRoot()
            for i in 0..<n { d[i] = s * rng.gaussian() }
        case .positive_unitball:
            for i in 0..<n { d[i] = rng.uniform() }
            let rows = Swift.max(blob.numAxes > 0 ? blob.dim(0) : 1, 1)
            let dim = n / rows
            for r in 0..<rows {
                var sum: Float = 0
                for j in 0..<dim { sum += d[r * dim + j] }
                for j in 0..<dim { d[r * dim + j] /= sum }
            }
        case .bilinear:
            // Upsampling kernel for a Deconvolution: (1 − |x/f − c|)(1 − |y/f − c|).
            let w = blob.dim(-1), h = blob.numAxes > 1 ? blob.dim(-2) : 1
            let f = Float((Double(w) / 2).rounded(.up))
            let c = (2 * f - 1 - Float(Int(f) % 2)) / (2 * f)
            for i in 0..<n {
                let x = Float(i % w), y = Float((i / w) % h)
                d[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
            }
        }
    }

    private func fan(_ b: Blob) -> Float {
        let fanIn = Float(b.count / Swift.max(b.numAxes > 0 ? b.dim(0) : 1, 1))
        let fanOut = Float(b.numAxes > 1 ? b.count / Swift.max(b.dim(1), 1) : b.count)
        switch varianceNorm {
        case .fanOut: return fanOut
        case .average: return (fanIn + fanOut) / 2
        case .fanIn: return fanIn
        }
    }
}
