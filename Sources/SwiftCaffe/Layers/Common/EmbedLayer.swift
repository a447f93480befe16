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
