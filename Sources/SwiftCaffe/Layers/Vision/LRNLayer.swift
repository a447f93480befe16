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

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = bottoms[0]
        let d = dims(b)
        let x = SharedPointer(b.data), y = SharedPointer(tops[0].data), s = SharedPointer(scale.data)
        let across = self.across
        Parallel.forEach(b.dim(0)) { n in
            let base = n * d.channels * d.plane
            if across {
                let half = (d.size - 1) / 2, coeff = d.alpha / Float(d.size)
                for c in 0..<d.channels {
                    for i in 0..<d.plane {
                        var sum: Float = 0
                        for cc in max(0, c - half)...min(d.channels - 1, c + half) {
                            let v = x[base + cc * d.plane + i]
                            sum += v * v
                        }
                        s[base + c * d.plane + i] = d.k + coeff * sum
                    }
                }
            } else {
                let half = (d.size - 1) / 2, coeff = d.alpha / Float(d.size * d.size)
                for c in 0..<d.channels {
                    let p = base + c * d.plane
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
                }
            }
            for i in base..<(base + d.channels * d.plane) { y[i] = x[i] * pow(s[i], -d.beta) }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let b = bottoms[0]
        let d = dims(b)
        let x = SharedPointer(b.data), y = SharedPointer(tops[0].data), s = SharedPointer(scale.data)
        let dy = SharedPointer(tops[0].diff), dx = SharedPointer(b.diff)
        let across = self.across
        Parallel.forEach(b.dim(0)) { n in
            let base = n * d.channels * d.plane
            let half = (d.size - 1) / 2
            let coeff = across ? 2 * d.alpha * d.beta / Float(d.size) : 2 * d.alpha * d.beta / Float(d.size * d.size)
            for c in 0..<d.channels {
                for h in 0..<d.height {
                    for w in 0..<d.width {
                        let i = base + c * d.plane + h * d.width + w
                        var acc: Float = 0
                        if across {
                            for cc in max(0, c - half)...min(d.channels - 1, c + half) {
                                let j = base + cc * d.plane + h * d.width + w
                                acc += dy[j] * y[j] / s[j]
                            }
                        } else {
                            for hh in max(0, h - half)...min(d.height - 1, h + half) {
                                for ww in max(0, w - half)...min(d.width - 1, w + half) {
                                    let j = base + c * d.plane + hh * d.width + ww
                                    acc += dy[j] * y[j] / s[j]
                                }
                            }
                        }
                        dx[i] = dy[i] * pow(s[i], -d.beta) - coeff * x[i] * acc
                    }
                }
            }
        }
    }
}
