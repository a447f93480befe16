/// The forks' depthwise convolution types, for MobileNet ports:
/// `ConvolutionDepthwise` (yonghenglh6/DepthwiseConvolution) and
/// `DepthwiseConvolution` (several MobileNet forks). Both read
/// convolution_param and convolve each input channel with its own filter
/// (weights C × 1 × kernel, bias C): a Convolution with num_output = group =
/// the input's channels, which runs on the depthwise kernel.
protocol ForkDepthwisePlan: ConvolutionFamilyPlan {}

extension ForkDepthwisePlan {
    static var bottoms: ClosedRange<Int> { 1...1 }
    static var tops: ClosedRange<Int> { 1...1 }

    init(_ l: LayerParameter) throws {
        self.init(geometry: try ConvolutionGeometry(l, depthwise: true))
    }

    func geometry(bottom: Shape) throws -> ConvolutionGeometry {
        let axis = try canonicalAxis(g.axis, bottom.count, at: g.param.location(of: .axis))
        return try g.depthwise(channels: bottom[axis], type: Self.type)
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        try ConvolutionPlan(geometry: try geometry(bottom: bottoms[0])).plan(bottoms)
    }
}

struct ConvolutionDepthwisePlan: ForkDepthwisePlan {
    static let type = "ConvolutionDepthwise"
    let g: ConvolutionGeometry
    init(geometry: ConvolutionGeometry) { g = geometry }
}

struct DepthwiseConvolutionPlan: ForkDepthwisePlan {
    static let type = "DepthwiseConvolution"
    let g: ConvolutionGeometry
    init(geometry: ConvolutionGeometry) { g = geometry }
}
