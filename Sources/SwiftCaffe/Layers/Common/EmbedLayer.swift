/// Looks up a learned vector per integer index (one-hot inner product).
struct EmbedPlan: LayerPlan {
    static let type = "Embed"
    static let bottoms = 1...1
    static let tops = 1...1
    let numOutput: Int
    let inputDim: Int
    let biasTerm: Bool

    init(_ l: LayerParameter) throws {
        let p = l.param("embed_param")
        numOutput = p.int("num_output")
        inputDim = p.int("input_dim")
        biasTerm = p.bool("bias_term")
        guard numOutput > 0, inputDim > 0 else {
            throw PlanError("num_output and input_dim must be > 0", at: "embed_param")
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        PlannedShapes(tops: [b[0] + [numOutput]],
                      params: biasTerm ? [[inputDim, numOutput], [numOutput]] : [[inputDim, numOutput]])
    }
}
