import Foundation

/// softmax along `axis`.
struct SoftmaxPlan: LayerPlan {
    static let type = "Softmax"
    static let bottoms = 1...1
    static let tops = 1...1
    var axis: Int { param.axis }
    let param: Caffe.SoftmaxParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.softmaxParam
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        return PlannedShapes(tops: [b[0]])
    }
}

/// y = e^(x − max) / Σ e^(x − max) along `axis`; dx = y ⊙ (dy − Σ dy·y).
final class SoftmaxLayer: Layer {
    private let axis: Int

    required init(_ ctx: LayerContext) throws {
        axis = ctx.parameter.proto.softmaxParam.axis
        try super.init(ctx)
    }

    /// (outer, channels, inner) of a blob for softmax along `axis`.
    static func split(_ b: Blob, axis: Int) throws -> (Int, Int, Int) {
        let a = try canonicalAxis(axis, b.numAxes)
        return (b.count(from: 0, to: a), b.dim(a), b.count(from: a + 1))
    }

    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int) {
        let xs = SharedPointer(UnsafeMutablePointer(mutating: x)), ys = SharedPointer(y)
        Parallel.forEach(outer) { o in
            let base = o * channels * inner
            for i in 0..<inner {
                var m = -Float.infinity
                for c in 0..<channels { m = max(m, xs[base + c * inner + i]) }
                var sum: Float = 0
                for c in 0..<channels {
                    let e = exp(xs[base + c * inner + i] - m)
                    ys[base + c * inner + i] = e
                    sum += e
                }
                for c in 0..<channels { ys[base + c * inner + i] /= sum }
            }
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (o, c, i) = try Self.split(bottoms[0], axis: axis)
        Self.softmax(bottoms[0].data, tops[0].data, outer: o, channels: c, inner: i)
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (outer, channels, inner) = try Self.split(bottoms[0], axis: axis)
        let y = tops[0].data, dy = tops[0].diff, dx = bottoms[0].diff
        for o in 0..<outer {
            let base = o * channels * inner
            for i in 0..<inner {
                var dot: Float = 0
                for c in 0..<channels { dot += dy[base + c * inner + i] * y[base + c * inner + i] }
                for c in 0..<channels {
                    let j = base + c * inner + i
                    dx[j] = y[j] * (dy[j] - dot)
                }
            }
        }
    }
}
