import Foundation

/// Local response normalisation, Caffe's way.
/// ACROSS_CHANNELS: s_c = k + α/n · Σ_{c' ∈ [c−⌊n/2⌋, c+⌊n/2⌋]} x_{c'}², y = x·s^−β;
///   dx_c = dy_c·s_c^−β − (2αβ/n)·x_c·Σ_{c' whose window holds c} dy_{c'}·y_{c'}/s_{c'}.
/// WITHIN_CHANNEL: s = 1 + α/n² · Σ over the n×n window (zero-padded) of x², y = x·s^−β
///   (Caffe builds it from pooling and power layers, which fixes the shift at 1, not k).
final class LRNLayer: Layer {
    private let size: Int
    private let alpha, beta, k: Float
    private let across: Bool
    private let scale = Blob()

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.param("lrn_param")
        size = p.int("local_size")
        alpha = Float(p.float("alpha"))
        beta = Float(p.float("beta"))
        k = Float(p.float("k"))
        across = p.enumName("norm_region") == "ACROSS_CHANNELS"
        try super.init(ctx)
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        scale.reshape(bottoms[0].shape)
    }

    private struct Dims: Sendable {
        let channels, height, width, size: Int
        let alpha, beta, k: Float
        var plane: Int { height * width }
    }

    private var dims: (Blob) -> Dims {
        { b in Dims(channels: b.dim(1), height: b.dim(2), width: b.dim(3), size: self.size, alpha: self.alpha, beta: self.beta, k: self.k) }
    }

    /// s^−β, with β = 0.75 (every published model) as 1/(√s·⁴√s).
    @inline(__always)
    private static func inversePower(_ s: Float, _ beta: Float) -> Float {
        if beta == 0.75 {
            let r = s.squareRoot()
            return 1 / (r * r.squareRoot())
        }
        return exp(-beta * log(s))
    }

    /// Images × plane chunks, the unit of parallel work for ACROSS_CHANNELS.
    private func chunks(_ plane: Int) -> Int { max(1, min(plane / 512, 8)) }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = bottoms[0]
        let d = dims(b)
        let x = SharedPointer(b.data), y = SharedPointer(tops[0].data), s = SharedPointer(scale.data)
        guard across else { return withinForward(b, d, x, y, s) }
        let parts = chunks(d.plane), per = (d.plane + parts - 1) / parts
        let half = (d.size - 1) / 2, coeff = d.alpha / Float(d.size)
        Parallel.forEach(b.dim(0) * parts) { job in
            let n = job / parts, lo = (job % parts) * per, hi = min(d.plane, lo + per)
            guard lo < hi else { return }
            let base = n * d.channels * d.plane
            // Running Σ x² over the channel window, one plane slice at a time.
            let count = hi - lo
            let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { a.deallocate() }
            a.initialize(repeating: 0, count: count)
            let xs = x.advanced(by: base + lo), ss = s.advanced(by: base + lo), ys = y.advanced(by: base + lo)
            for c in 0..<min(half, d.channels) { LRNLayer.addSquares(a, xs + c * d.plane, count, 1) }
            for c in 0..<d.channels {
                if c + half < d.channels { LRNLayer.addSquares(a, xs + (c + half) * d.plane, count, 1) }
                if c - half - 1 >= 0 { LRNLayer.addSquares(a, xs + (c - half - 1) * d.plane, count, -1) }
                let o = c * d.plane
                LRNLayer.normalise(x: xs + o, s: ss + o, y: ys + o, acc: a, count, k: d.k, coeff: coeff, beta: d.beta)
            }
        }
    }

    /// a += sign·p²
    @inline(__always)
    private static func addSquares(_ a: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ n: Int, _ sign: Float) {
        for i in 0..<n { a[i] += sign * p[i] * p[i] }
    }

    /// s = k + coeff·acc, y = x·s^−β
    @inline(__always)
    private static func normalise(x: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
                                  acc: UnsafePointer<Float>, _ n: Int, k: Float, coeff: Float, beta: Float) {
        if beta == 0.75 {
            for i in 0..<n {
                let sv = k + coeff * acc[i]
                s[i] = sv
                let r = sv.squareRoot()
                y[i] = x[i] / (r * r.squareRoot())
            }
        } else {
            for i in 0..<n {
                let sv = k + coeff * acc[i]
                s[i] = sv
                y[i] = x[i] * exp(-beta * log(sv))
            }
        }
    }

    private func withinForward(_ b: Blob, _ d: Dims, _ x: SharedPointer<Float>, _ y: SharedPointer<Float>, _ s: SharedPointer<Float>) {
        Parallel.forEach(b.dim(0) * d.channels) { plane in
            let p = plane * d.plane
            let half = (d.size - 1) / 2, coeff = d.alpha / Float(d.size * d.size)
            for h in 0..<d.height {
                for w in 0..<d.width {
                    var sum: Float = 0
                    for hh in max(0, h - half)...min(d.height - 1, h + half) {
                        for ww in max(0, w - half)...min(d.width - 1, w + half) {
                            let v = x[p + hh * d.width + ww]
                            sum += v * v
                        }
                    }
                    s[p + h * d.width + w] = 1 + coeff * sum
                }
            }
            for i in p..<(p + d.plane) { y[i] = x[i] * LRNLayer.inversePower(s[i], d.beta) }
        }
    }

    /// a += sign·r
    @inline(__always)
    private static func accumulate(_ a: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, _ n: Int, _ sign: Float) {
        for i in 0..<n { a[i] += sign * r[i] }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let b = bottoms[0]
        let d = dims(b)
        let x = SharedPointer(b.data), y = SharedPointer(tops[0].data), s = SharedPointer(scale.data)
        let dy = SharedPointer(tops[0].diff), dx = SharedPointer(b.diff)
        let half = (d.size - 1) / 2
        if across {
            let parts = chunks(d.plane), per = (d.plane + parts - 1) / parts
            let coeff = 2 * d.alpha * d.beta / Float(d.size)
            Parallel.forEach(b.dim(0) * parts) { job in
                let n = job / parts, lo = (job % parts) * per, hi = min(d.plane, lo + per)
                guard lo < hi else { return }
                let base = n * d.channels * d.plane
                // Running Σ dy·y/s over the channels whose window holds c.
                let count = hi - lo
                let ratio = UnsafeMutablePointer<Float>.allocate(capacity: d.channels * count)
                let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { ratio.deallocate(); a.deallocate() }
                a.initialize(repeating: 0, count: count)
                let at = base + lo
                for c in 0..<d.channels {
                    let r = ratio + c * count, o = at + c * d.plane
                    let dys = dy.advanced(by: o), ys = y.advanced(by: o), ss = s.advanced(by: o)
                    for i in 0..<count { r[i] = dys[i] * ys[i] / ss[i] }
                }
                for c in 0..<min(half, d.channels) { LRNLayer.accumulate(a, ratio + c * count, count, 1) }
                for c in 0..<d.channels {
                    if c + half < d.channels { LRNLayer.accumulate(a, ratio + (c + half) * count, count, 1) }
                    if c - half - 1 >= 0 { LRNLayer.accumulate(a, ratio + (c - half - 1) * count, count, -1) }
                    let o = at + c * d.plane
                    let dys = dy.advanced(by: o), ss = s.advanced(by: o), xs = x.advanced(by: o), dxs = dx.advanced(by: o)
                    if d.beta == 0.75 {
                        for i in 0..<count {
                            let r = ss[i].squareRoot()
                            dxs[i] = dys[i] / (r * r.squareRoot()) - coeff * xs[i] * a[i]
                        }
                    } else {
                        for i in 0..<count { dxs[i] = dys[i] * exp(-d.beta * log(ss[i])) - coeff * xs[i] * a[i] }
                    }
                }
            }
            return
        }
        let coeff = 2 * d.alpha * d.beta / Float(d.size * d.size)
        Parallel.forEach(b.dim(0) * d.channels) { plane in
            let p = plane * d.plane
            for h in 0..<d.height {
                for w in 0..<d.width {
                    var acc: Float = 0
                    for hh in max(0, h - half)...min(d.height - 1, h + half) {
                        for ww in max(0, w - half)...min(d.width - 1, w + half) {
                            let j = p + hh * d.width + ww
                            acc += dy[j] * y[j] / s[j]
                        }
                    }
                    let i = p + h * d.width + w
                    dx[i] = dy[i] * LRNLayer.inversePower(s[i], d.beta) - coeff * x[i] * acc
                }
            }
        }
    }
}
