/// y = x + β, β learned or a second bottom, broadcast from `axis`.
struct BiasPlan: LayerPlan {
    static let type = "Bias"
    static let bottoms = 1...2
    static let tops = 1...1
    let axis: Int
    let numAxes: Int
    let param: Caffe.BiasParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.biasParam
        axis = param.axis
        numAxes = param.numAxes
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        if b.count == 2 {
            try checkOperand(b[0], b[1], axis: axis, at: param.location(of: .axis))
            return PlannedShapes(tops: [b[0]])
        }
        return PlannedShapes(tops: [b[0]], params: [try broadcastShape(b[0], axis: axis, numAxes: numAxes, at: param.location(of: .axis), param.location(of: .numAxes))])
    }
}

/// y = x + β, β broadcast over axes [axis, axis + its own axes), learned
/// (filler default 0) or a second bottom; dβ = Σ dy over the other axes, dx = dy.
final class BiasLayer: Layer {
    private let bias: BiasPlan

    required init(_ ctx: LayerContext) throws {
        bias = ctx.plan(BiasPlan.self)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] { [try Filler(parameter.proto.biasParam.filler)] }

    private func operand(_ bottoms: [Blob]) -> Blob { bottoms.count == 2 ? bottoms[1] : params[0] }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0], beta = operand(bottoms)
        let (outer, dim, inner) = try broadcast(x, beta, axis: bias.axis)
        let xs = x.data, y = tops[0].data
        for o in 0..<outer {
            for d in 0..<dim {
                let base = (o * dim + d) * inner, b = beta.data[d]
                for i in 0..<inner { y[base + i] = xs[base + i] + b }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let x = bottoms[0], beta = operand(bottoms)
        let (outer, dim, inner) = try broadcast(x, beta, axis: bias.axis)
        let dy = tops[0].diff
        if bottoms.count == 2 {
            if propagateDown[1] { beta.zeroDiff() } else { return finish(propagateDown, x, dy) }
        }
        for o in 0..<outer {
            for d in 0..<dim {
                let base = (o * dim + d) * inner
                var s: Float = 0
                for i in 0..<inner { s += dy[base + i] }
                beta.diff[d] += s
            }
        }
        finish(propagateDown, x, dy)
    }

    private func finish(_ propagateDown: [Bool], _ x: Blob, _ dy: UnsafeMutablePointer<Float>) {
        if propagateDown[0], x.diff != dy { x.diff.update(from: dy, count: x.count) }
    }
}
