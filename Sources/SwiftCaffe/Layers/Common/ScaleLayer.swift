/// y = x ⊙ γ (+ β), γ learned or a second bottom, broadcast from `axis`.
struct ScalePlan: LayerPlan {
    static let type = "Scale"
    static let bottoms = 1...2
    static let tops = 1...1
    let axis: Int
    let numAxes: Int
    let biasTerm: Bool
    let param: Caffe.ScaleParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.scaleParam
        axis = param.axis
        numAxes = param.numAxes
        biasTerm = param.biasTerm
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let shape: Shape
        var params: [Shape] = []
        if b.count == 2 {
            try checkOperand(b[0], b[1], axis: axis, at: param.location(of: .axis))
            shape = b[1]
        } else {
            shape = try broadcastShape(b[0], axis: axis, numAxes: numAxes, at: param.location(of: .axis), param.location(of: .numAxes))
            params.append(shape)
        }
        if biasTerm { params.append(shape) }
        return PlannedShapes(tops: [b[0]], params: params, macs: count(b[0]))
    }
}

/// y = x·γ (+ β), γ broadcast over axes [axis, axis + its own axes), learned
/// (filler default 1) or a second bottom; β learned (bias_filler default 0).
/// dγ = Σ dy·x, dβ = Σ dy over the other axes, dx = dy·γ. In place, the
/// bottom's values are kept for backward.
final class ScaleLayer: Layer {
    private let scale: ScalePlan
    private let saved = Blob()

    required init(_ ctx: LayerContext) throws {
        scale = ctx.plan(ScalePlan.self)
        try super.init(ctx)
    }

    /// Whether this multiplies each channel of the 4-D blob `t` by its own learned γ.
    func scalesChannels(of t: Blob) -> Bool {
        parameter.bottoms.count == 1 && t.numAxes == 4 && (try? canonicalAxis(scale.axis, 4)) == 1
            && params.first?.shape == [t.dim(1)]
    }

    override func fillers() throws -> [Filler] {
        let p = parameter.proto.scaleParam
        let gamma = try p.has(.filler) ? Filler(p.filler) : Filler.constant(1)
        let beta = try Filler(p.biasFiller)
        return parameter.bottoms.count == 2 ? [beta] : [gamma, beta]
    }

    /// (γ blob, whether it is a bottom, β blob or nil).
    private func operands(_ bottoms: [Blob]) -> (Blob, Bool, Blob?) {
        if bottoms.count == 2 { return (bottoms[1], true, scale.biasTerm ? params[0] : nil) }
        return (params[0], false, scale.biasTerm ? params[1] : nil)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0]
        if x === tops[0] {
            try reshape(saved, to: x.shape, what: "its copy of the in-place input")
            saved.data.update(from: x.data, count: x.count)
        }
        let (gamma, _, beta) = operands(bottoms)
        let (outer, dim, inner) = try broadcast(x, gamma, axis: scale.axis)
        let xs = x.data, y = tops[0].data, g = gamma.data
        for o in 0..<outer {
            for d in 0..<dim {
                let base = (o * dim + d) * inner, gv = g[d], bv = beta?.data[d] ?? 0
                for i in 0..<inner { y[base + i] = xs[base + i] * gv + bv }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let x = bottoms[0]
        let (gamma, gammaIsBottom, beta) = operands(bottoms)
        let (outer, dim, inner) = try broadcast(x, gamma, axis: scale.axis)
        let xs = x === tops[0] ? saved.data : x.data, dy = tops[0].diff, g = gamma.data
        if gammaIsBottom, propagateDown[1] { gamma.zeroDiff() }
        let wantGamma = !gammaIsBottom || propagateDown[1]
        for o in 0..<outer {
            for d in 0..<dim {
                let base = (o * dim + d) * inner
                var sg: Float = 0, sb: Float = 0
                for i in 0..<inner {
                    sg += dy[base + i] * xs[base + i]
                    sb += dy[base + i]
                }
                if wantGamma { gamma.diff[d] += sg }
                beta?.diff[d] += sb
            }
        }
        guard propagateDown[0] else { return }
        let dx = x.diff
        for o in 0..<outer {
            for d in 0..<dim {
                let base = (o * dim + d) * inner, gv = g[d]
                for i in 0..<inner { dx[base + i] = dy[base + i] * gv }
            }
        }
    }
}

/// (outer, operand count, inner) for broadcasting `operand` over `x` from `axis`.
func broadcast(_ x: Blob, _ operand: Blob, axis: Int) throws -> (Int, Int, Int) {
    if operand.count == 1 { return (x.count, 1, 1) }
    let a = try canonicalAxis(axis, x.numAxes)
    return (x.count(from: 0, to: a), operand.count, x.count(from: a + operand.numAxes))
}
