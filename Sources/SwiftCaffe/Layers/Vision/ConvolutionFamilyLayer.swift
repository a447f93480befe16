/// Kernel, stride, pad and dilation of a convolution, per spatial axis, read
/// as Caffe's BaseConvolutionLayer does: repeated values (one for all axes or
/// one per axis) or the 2-D `_h`/`_w` forms.
struct ConvolutionGeometry: Sendable {
    let numOutput: Int
    let group: Int
    let biasTerm: Bool
    let axis: Int
    let kernel: [Int]
    let stride: [Int]
    let pad: [Int]
    let dilation: [Int]

    init(_ l: LayerParameter) throws {
        let p = l.param("convolution_param")
        let f = "convolution_param"
        numOutput = p.int("num_output")
        guard numOutput > 0 else { throw PlanError("num_output must be > 0 (found \(numOutput))", at: f, "num_output") }
        group = p.int("group")
        guard group > 0 else { throw PlanError("group must be > 0", at: f, "group") }
        guard numOutput % group == 0 else {
            throw PlanError("num_output (\(numOutput)) must be divisible by group (\(group))", at: f, "group")
        }
        biasTerm = p.bool("bias_term")
        axis = p.int("axis")

        func pick(_ repeatedName: String, _ h: String, _ w: String, default d: Int) throws -> [Int] {
            let rep = p.ints(repeatedName)
            if p.has(h) || p.has(w) {
                guard p.has(h), p.has(w) else { throw PlanError("give both \(h) and \(w), or neither", at: f, p.has(h) ? h : w) }
                guard rep.isEmpty else { throw PlanError("give \(repeatedName) or \(h)/\(w), not both", at: f, h) }
                return [p.int(h), p.int(w)]
            }
            return rep.isEmpty ? [d] : rep
        }
        let k = try pick("kernel_size", "kernel_h", "kernel_w", default: 0)
        guard !(k == [0] && !p.has("kernel_size")) else {
            throw PlanError("kernel size is required: set kernel_size (or kernel_h and kernel_w)", at: f)
        }
        guard k.allSatisfy({ $0 > 0 }) else { throw PlanError("kernel size must be > 0, found \(k.map(String.init).joined(separator: ", "))", at: f, "kernel_size") }
        kernel = k
        stride = try pick("stride", "stride_h", "stride_w", default: 1)
        guard stride.allSatisfy({ $0 > 0 }) else { throw PlanError("stride must be > 0", at: f, "stride") }
        pad = try pick("pad", "pad_h", "pad_w", default: 0)
        let dil = p.ints("dilation")
        dilation = dil.isEmpty ? [1] : dil
        guard dilation.allSatisfy({ $0 > 0 }) else { throw PlanError("dilation must be > 0", at: f, "dilation") }
        try SizeLimit.check(group, "group", field: f, "group")
        for (name, values) in [("kernel size", kernel), ("stride", stride), ("pad", pad), ("dilation", dilation)] {
            for v in values { try SizeLimit.check(v, name, field: f) }
        }
    }

    /// Per-axis values, expanding a single value to every spatial axis.
    func expand(_ v: [Int], _ name: String, spatial n: Int) throws -> [Int] {
        if v.count == 1 { return Array(repeating: v[0], count: n) }
        guard v.count == n else {
            throw PlanError("\(name) has \(v.count) values but the input has \(n) spatial axes; give 1 or \(n)",
                            at: "convolution_param", name)
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
        let a = try canonicalAxis(axis, b.count, field: "convolution_param", "axis")
        let n = b.count - a - 1
        guard n >= 1 else { throw PlanError("input \(describe(b)) has no spatial axes after channel axis \(a)") }
        let r = Resolved(axis: a, channels: b[a], spatialIn: Array(b[(a + 1)...]),
                         kernel: try expand(kernel, "kernel_size", spatial: n),
                         stride: try expand(stride, "stride", spatial: n),
                         pad: try expand(pad, "pad", spatial: n),
                         dilation: try expand(dilation, "dilation", spatial: n),
                         outer: count(b, to: a))
        guard r.channels % group == 0 else {
            throw PlanError("input channels (\(r.channels)) must be divisible by group (\(group))", at: "convolution_param", "group")
        }
        return r
    }
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
