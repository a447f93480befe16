/// Kernel, stride, pad and dilation of a convolution, per spatial axis, read
/// as Caffe's BaseConvolutionLayer does: repeated values (one for all axes or
/// one per axis) or the 2-D `_h`/`_w` forms.
struct ConvolutionGeometry: Sendable {
    private(set) var numOutput: Int
    private(set) var group: Int
    let biasTerm: Bool
    let axis: Int
    let kernel: [Int]
    let stride: [Int]
    let pad: [Int]
    let dilation: [Int]
    let param: Caffe.ConvolutionParameter
    typealias Field = Caffe.ConvolutionParameter.Field

    /// `depthwise`: the forks' depthwise types, whose num_output and group
    /// the input's channel count sets (`depthwise(channels:)`).
    init(_ l: LayerParameter, depthwise: Bool = false) throws {
        let p = l.proto.convolutionParam
        param = p
        numOutput = depthwise && !p.has(.numOutput) ? 1 : p.numOutput
        guard numOutput > 0 else { throw PlanError("num_output must be > 0 (found \(numOutput))", at: p.location(of: .numOutput)) }
        group = p.group
        guard group > 0 else { throw PlanError("group must be > 0", at: p.location(of: .group)) }
        guard numOutput % group == 0 else {
            throw PlanError("num_output (\(numOutput)) must be divisible by group (\(group))", at: p.location(of: .group))
        }
        biasTerm = p.biasTerm
        axis = p.axis

        func pick(_ rep: [Int], _ repeated: Field, _ h: Field, _ w: Field, default d: Int) throws -> [Int] {
            if p.has(h) || p.has(w) {
                guard p.has(h), p.has(w) else {
                    throw PlanError("give both \(h.name) and \(w.name), or neither", at: p.location(of: p.has(h) ? h : w))
                }
                guard rep.isEmpty else { throw PlanError("give \(repeated.name) or \(h.name)/\(w.name), not both", at: p.location(of: h)) }
                return [p.message.int(h), p.message.int(w)]
            }
            return rep.isEmpty ? [d] : rep
        }
        let k = try pick(p.kernelSize, .kernelSize, .kernelH, .kernelW, default: 0)
        guard !(k == [0] && !p.has(.kernelSize)) else {
            throw PlanError("kernel size is required: set kernel_size (or kernel_h and kernel_w)", at: p.location)
        }
        guard k.allSatisfy({ $0 > 0 }) else {
            throw PlanError("kernel size must be > 0, found \(k.map(String.init).joined(separator: ", "))", at: p.location(of: .kernelSize))
        }
        kernel = k
        stride = try pick(p.stride, .stride, .strideH, .strideW, default: 1)
        guard stride.allSatisfy({ $0 > 0 }) else { throw PlanError("stride must be > 0", at: p.location(of: .stride)) }
        pad = try pick(p.pad, .pad, .padH, .padW, default: 0)
        let dil = p.dilation
        dilation = dil.isEmpty ? [1] : dil
        guard dilation.allSatisfy({ $0 > 0 }) else { throw PlanError("dilation must be > 0", at: p.location(of: .dilation)) }
        try SizeLimit.check(group, "group", at: p.location(of: .group))
        for (name, values) in [("kernel size", kernel), ("stride", stride), ("pad", pad), ("dilation", dilation)] {
            for v in values { try SizeLimit.check(v, name, at: p.location) }
        }
    }

    /// The geometry of a fork depthwise type over `channels` input channels:
    /// one filter per channel. A num_output or group written in the file
    /// must agree (the forks differ in which of them they read).
    func depthwise(channels: Int, type: String) throws -> ConvolutionGeometry {
        for (field, value) in [(Field.numOutput, param.numOutput), (.group, param.group)] where param.has(field) && value != channels {
            throw PlanError("\(type) convolves each of the \(channels) input channels with its own filter, but \(field.name) is \(value); "
                            + "write \(channels) or leave it out", at: param.location(of: field))
        }
        var g = self
        (g.numOutput, g.group) = (channels, channels)
        return g
    }

    /// Per-axis values, expanding a single value to every spatial axis.
    func expand(_ v: [Int], _ field: Field, spatial n: Int) throws -> [Int] {
        if v.count == 1 { return Array(repeating: v[0], count: n) }
        guard v.count == n else {
            throw PlanError("\(field.name) has \(v.count) values but the input has \(n) spatial axes; give 1 or \(n)",
                            at: param.location(of: field))
        }
        return v
    }

    struct Resolved {
        var axis: Int
        var channels: Int
        var spatialIn: [Int]
        var kernel: [Int]
        var stride: [Int]
        var pad: [Int]
        var dilation: [Int]
        var outer: Int
    }

    func resolve(_ b: Shape) throws -> Resolved {
        let a = try canonicalAxis(axis, b.count, at: param.location(of: .axis))
        let n = b.count - a - 1
        guard n >= 1 else { throw PlanError("input \(describe(b)) has no spatial axes after channel axis \(a)") }
        let r = Resolved(axis: a, channels: b[a], spatialIn: Array(b[(a + 1)...]),
                         kernel: try expand(kernel, .kernelSize, spatial: n),
                         stride: try expand(stride, .stride, spatial: n),
                         pad: try expand(pad, .pad, spatial: n),
                         dilation: try expand(dilation, .dilation, spatial: n),
                         outer: count(b, to: a))
        guard r.channels % group == 0 else {
            throw PlanError("input channels (\(r.channels)) must be divisible by group (\(group))", at: param.location(of: .group))
        }
        return r
    }
}

/// Convolution's and Deconvolution's plans: any number of bottoms, one top
/// each, and the convolution_param geometry.
protocol ConvolutionFamilyPlan: LayerPlan {
    var g: ConvolutionGeometry { get }
    init(geometry: ConvolutionGeometry)
    /// The geometry for this bottom (the forks' depthwise types take their
    /// outputs from its channels).
    func geometry(bottom: Shape) throws -> ConvolutionGeometry
}

extension ConvolutionFamilyPlan {
    static var bottoms: ClosedRange<Int> { 1...Int.max }
    static var tops: ClosedRange<Int> { 1...Int.max }

    init(_ l: LayerParameter) throws {
        self.init(geometry: try ConvolutionGeometry(l))
        try ConvolutionGeometry.checkTops(l)
    }

    func geometry(bottom: Shape) throws -> ConvolutionGeometry { g }
}

extension ConvolutionGeometry {
    /// What Convolution and Deconvolution share: same-shaped bottoms, one top
    /// each; `spatialOut` gives each output size from the input size and the
    /// dilated kernel extent; the weight shape is
    /// num_output × (channels/group) × kernel, or its transpose for deconvolution.
    func plan(_ bottoms: [Shape], transposed: Bool,
              spatialOut: (_ r: Resolved, _ axis: Int, _ extent: Int) throws -> Int) throws -> PlannedShapes {
        try requireSameShapes(bottoms, what: "all bottoms")
        let r = try resolve(bottoms[0])
        let out = try r.spatialIn.indices.map { try spatialOut(r, $0, r.dilation[$0] * (r.kernel[$0] - 1) + 1) }
        let top = Array(bottoms[0][..<r.axis]) + [numOutput] + out
        let weights = (transposed ? [r.channels, numOutput / group] : [numOutput, r.channels / group]) + r.kernel
        // Each output (input, for the transpose) sums over one group's channels × kernel.
        let positions = transposed ? product(r.channels, product(r.spatialIn)) : product(numOutput, product(out))
        let perPosition = transposed ? product(numOutput / group, product(r.kernel)) : product(r.channels / group, product(r.kernel))
        return PlannedShapes(tops: Array(repeating: top, count: bottoms.count),
                             params: biasTerm ? [weights, [numOutput]] : [weights],
                             macs: product(r.outer, positions, perPosition, bottoms.count))
    }

    static func checkTops(_ l: LayerParameter) throws {
        guard l.bottoms.count == l.tops.count else {
            throw PlanError("needs as many tops as bottoms (\(l.bottoms.count)), found \(l.tops.count)")
        }
    }
}

/// What Convolution and Deconvolution share: typed convolution_param, the
/// weight and bias fillers, and the 2-D geometry resolved at reshape.
class ConvolutionFamilyLayer: Layer {
    let geometry: ConvolutionGeometry
    var conv = ConvGeometry2D.empty
    var outer = 1

    required init(_ ctx: LayerContext) throws {
        guard let family = ctx.graphLayer.plan as? any ConvolutionFamilyPlan else {
            preconditionFailure("SwiftCaffe bug: \(ctx.parameter.label) has no convolution plan")
        }
        // The graph planned this layer, so its bottom shape is known and valid.
        let bottom = ctx.graphLayer.bottomShapes.first ?? nil
        geometry = try bottom.map { try family.geometry(bottom: $0) } ?? family.g
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        [try Filler(geometry.param.weightFiller), try Filler(geometry.param.biasFiller)]
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
