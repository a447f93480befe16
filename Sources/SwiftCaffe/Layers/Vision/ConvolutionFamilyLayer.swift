/// What Convolution and Deconvolution share: typed convolution_param, the
/// weight and bias fillers, and the 2-D geometry resolved at reshape.
class ConvolutionFamilyLayer: Layer {
    let geometry: ConvolutionGeometry
    var conv = ConvGeometry2D.empty
    var outer = 1

    required init(_ ctx: LayerContext) throws {
        geometry = try ConvolutionGeometry(ctx.parameter)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        [try filler("convolution_param", "weight_filler"), try filler("convolution_param", "bias_filler")]
    }

    /// Plans the tops, resolves the geometry for the bottom (two spatial axes only).
    func resolve2D(_ bottoms: [Blob], _ tops: [Blob]) throws -> ConvolutionGeometry.Resolved {
        try super.reshape(bottoms, tops)
        let r = try geometry.resolve(bottoms[0].shape)
        guard r.spatialIn.count == 2 else {
            throw fail("the runtime runs 2-D \(type.lowercased())s; this input has \(r.spatialIn.count) spatial axes")
        }
        outer = r.outer
        return r
    }
}
