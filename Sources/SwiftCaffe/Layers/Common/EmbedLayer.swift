/// Looks up a learned vector per integer index (one-hot inner product).
struct EmbedPlan: LayerPlan {
    static let type = "Embed"
    static let bottoms = 1...1
    static let tops = 1...1
    let numOutput: Int
    let inputDim: Int
    let biasTerm: Bool
    let param: Caffe.EmbedParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.embedParam
        numOutput = param.numOutput
        inputDim = param.inputDim
        biasTerm = param.biasTerm
        guard numOutput > 0, inputDim > 0 else {
            throw PlanError("num_output and input_dim must be > 0", at: param.location)
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        PlannedShapes(tops: [b[0] + [numOutput]],
                      params: biasTerm ? [[inputDim, numOutput], [numOutput]] : [[inputDim, numOutput]])
    }
}

/// y[..., :] = W[x, :] (+ b) for each integer index x in [0, input_dim);
/// backward adds dy to W's row x and to b. Caffe computes no gradient for
/// the indices, so none flows to the bottom.
final class EmbedLayer: Layer {
    private let embed: EmbedPlan

    required init(_ ctx: LayerContext) throws {
        embed = ctx.plan(EmbedPlan.self)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        [try Filler(embed.param.weightFiller), try Filler(embed.param.biasFiller)]
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    /// The row of value `v` at position `i`, or an error naming both.
    private func row(_ v: Float, at i: Int) throws -> Int {
        guard v.isFinite, v == v.rounded(.down), v >= 0, v < Float(embed.inputDim) else {
            throw fail("index \(v) at position \(i) is not an integer in [0, \(embed.inputDim)) (embed_param input_dim)")
        }
        return Int(v)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0].data, y = tops[0].data, w = params[0].data, n = embed.numOutput
        for i in 0..<bottoms[0].count {
            let r = try row(x[i], at: i)
            (y + i * n).update(from: w + r * n, count: n)
            if embed.biasTerm { for j in 0..<n { y[i * n + j] += params[1].data[j] } }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let x = bottoms[0].data, dy = tops[0].diff, dw = params[0].diff, n = embed.numOutput
        for i in 0..<bottoms[0].count {
            let r = try row(x[i], at: i)
            for j in 0..<n { dw[r * n + j] += dy[i * n + j] }
            if embed.biasTerm { for j in 0..<n { params[1].diff[j] += dy[i * n + j] } }
        }
        if propagateDown[0] { bottoms[0].zeroDiff() }
    }
}
