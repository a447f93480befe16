import CKernels
import Foundation

/// Local response normalisation: b = a / (k + α/n · Σ a²)^β over n channels
/// (ACROSS_CHANNELS) or an n×n window (WITHIN_CHANNEL). Shape unchanged.
struct LRNPlan: LayerPlan {
    static let type = "LRN"
    static let bottoms = 1...1
    static let tops = 1...1
    let param: Caffe.LRNParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.lrnParam
        let n = param.localSize
        guard n > 0, n % 2 == 1 else { throw PlanError("local_size must be odd and > 0, found \(n)", at: param.location(of: .localSize)) }
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        guard bottoms[0].count == 4 else { throw PlanError("input must have 4 axes (N×C×H×W), found \(describe(bottoms[0]))") }
        return PlannedShapes(tops: [bottoms[0]])
    }
}

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
        let p = ctx.parameter.proto.lrnParam
        size = p.localSize
        alpha = Float(p.alpha)
        beta = Float(p.beta)
        k = Float(p.k)
        across = p.normRegion == .acrossChannels
        try super.init(ctx)
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(scale, to: bottoms[0].shape, what: "its scale buffer")
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
        let coeff = d.alpha / Float(d.size)
        Parallel.forEach(b.dim(0) * parts) { job in
            let n = job / parts, lo = (job % parts) * per, hi = min(d.plane, lo + per)
            guard lo < hi else { return }
            let base = n * d.channels * d.plane
            // Running Σ x² over the channel window, one plane slice at a time (CKernels).
            let count = hi - lo
            let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { a.deallocate() }
            sc_lrn_across_forward(x.advanced(by: base), s.advanced(by: base), y.advanced(by: base), Int32(d.channels), Int32(d.plane),
                                  Int32(lo), Int32(hi), Int32(d.size), coeff, d.k, d.beta, a)
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
                // Running Σ dy·y/s over the channels whose window holds c (CKernels).
                let count = hi - lo
                let ratio = UnsafeMutablePointer<Float>.allocate(capacity: d.channels * count)
                let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { ratio.deallocate(); a.deallocate() }
                sc_lrn_across_backward(x.advanced(by: base), y.advanced(by: base), s.advanced(by: base), dy.advanced(by: base),
                                       dx.advanced(by: base), Int32(d.channels), Int32(d.plane), Int32(lo), Int32(hi), Int32(d.size),
                                       coeff, d.beta, ratio, a)
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
