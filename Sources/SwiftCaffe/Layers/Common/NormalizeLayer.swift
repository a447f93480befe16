import Foundation

/// SSD's Normalize (weiliu89/caffe, norm_param): y = s · x / sqrt(Σx² + eps),
/// the sum over each item's C×H×W (across_spatial) or over the C channels at
/// each position, s one learned value (channel_shared) or one per channel.
/// SSD's VGG puts it after conv4_3 with s starting at 20.
struct NormalizePlan: LayerPlan {
    static let type = "Normalize"
    static let bottoms = 1...1
    static let tops = 1...1
    let acrossSpatial: Bool
    let channelShared: Bool
    let eps: Float
    let param: Caffe.NormalizeParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.normParam
        acrossSpatial = param.acrossSpatial
        channelShared = param.channelShared
        eps = Float(param.eps)
        guard eps >= 0 else { throw PlanError("norm_param eps must be ≥ 0, found \(param.eps)", at: param.location(of: .eps)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].count >= 2 else { throw PlanError("Normalize needs an N×C×... input, found \(describe(b[0]))") }
        // The fork's shared scale is a blob of 0 axes (one value).
        return PlannedShapes(tops: [b[0]], params: [channelShared ? [] : [b[0][1]]], macs: 3 * count(b[0]))
    }
}

/// Keeps each norm for backward. With n the norm, g = dy·s:
/// dx = (g − x · Σ(g·x) / n²) / n over the same sum, ds = Σ dy·x / n.
final class NormalizeLayer: Layer {
    private let normalize: NormalizePlan
    /// One norm per item (across_spatial) or per item and position.
    private var norms = Blob()
    /// The input, when the layer writes in place.
    private var saved = Blob()

    required init(_ ctx: LayerContext) throws {
        normalize = ctx.plan(NormalizePlan.self)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        let p = normalize.param
        return [try p.has(.scaleFiller) ? Filler(p.scaleFiller) : Filler.constant(1)]
    }

    /// (items, channels, positions per channel).
    private func dims(_ b: Blob) -> (Int, Int, Int) { (b.dim(0), b.dim(1), b.count(from: 2)) }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = bottoms[0]
        let (n, c, plane) = dims(b)
        if b === tops[0] {
            try reshape(saved, to: b.shape, what: "its copy of the in-place input")
            saved.data.update(from: b.data, count: b.count)
        }
        try reshape(norms, to: normalize.acrossSpatial ? [n] : [n, plane], what: "its norms")
        let x = b === tops[0] ? saved.data : b.data, y = tops[0].data, s = params[0].data, norm = norms.data
        let shared = normalize.channelShared, eps = normalize.eps
        for item in 0..<n {
            let base = item * c * plane
            if normalize.acrossSpatial {
                var sum: Float = 0
                for i in base..<(base + c * plane) { sum += x[i] * x[i] }
                norm[item] = (sum + eps).squareRoot()
                let inverse = 1 / norm[item]
                for ch in 0..<c {
                    let k = inverse * (shared ? s[0] : s[ch]), start = base + ch * plane
                    for i in start..<(start + plane) { y[i] = x[i] * k }
                }
            } else {
                let itemNorms = norm + item * plane
                itemNorms.update(repeating: eps, count: plane)
                for ch in 0..<c {
                    let start = base + ch * plane
                    for p in 0..<plane { itemNorms[p] += x[start + p] * x[start + p] }
                }
                for p in 0..<plane { itemNorms[p] = itemNorms[p].squareRoot() }
                for ch in 0..<c {
                    let k = shared ? s[0] : s[ch], start = base + ch * plane
                    for p in 0..<plane { y[start + p] = x[start + p] / itemNorms[p] * k }
                }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let b = bottoms[0]
        let (n, c, plane) = dims(b)
        let x = b === tops[0] ? saved.data : b.data, dy = tops[0].diff, s = params[0].data, ds = params[0].diff
        let shared = normalize.channelShared, norm = norms.data
        func normAt(_ item: Int, _ p: Int) -> Float { normalize.acrossSpatial ? norm[item] : norm[item * plane + p] }
        // ds first: in place, dx overwrites dy.
        for item in 0..<n {
            for ch in 0..<c {
                let start = (item * c + ch) * plane
                var sum: Float = 0
                for p in 0..<plane { sum += dy[start + p] * x[start + p] / normAt(item, p) }
                ds[shared ? 0 : ch] += sum
            }
        }
        guard propagateDown[0] else { return }
        let dx = b.diff
        for item in 0..<n {
            let base = item * c * plane
            if normalize.acrossSpatial {
                var dot: Float = 0
                for ch in 0..<c {
                    let k = shared ? s[0] : s[ch], start = base + ch * plane
                    for i in start..<(start + plane) { dot += dy[i] * k * x[i] }
                }
                let r = norm[item], f = dot / (r * r)
                for ch in 0..<c {
                    let k = shared ? s[0] : s[ch], start = base + ch * plane
                    for i in start..<(start + plane) { dx[i] = (dy[i] * k - x[i] * f) / r }
                }
            } else {
                for p in 0..<plane {
                    var dot: Float = 0
                    for ch in 0..<c { dot += dy[base + ch * plane + p] * (shared ? s[0] : s[ch]) * x[base + ch * plane + p] }
                    let r = norm[item * plane + p], f = dot / (r * r)
                    for ch in 0..<c {
                        let i = base + ch * plane + p
                        dx[i] = (dy[i] * (shared ? s[0] : s[ch]) - x[i] * f) / r
                    }
                }
            }
        }
    }
}
