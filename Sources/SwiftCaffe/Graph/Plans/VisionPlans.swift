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

/// Convolution: output size ⌊(in + 2·pad − (dilation·(k−1)+1)) / stride⌋ + 1 per spatial axis.
/// Weights num_output × (channels/group) × kernel; bias num_output.
struct ConvolutionPlan: LayerPlan {
    static let type = "Convolution"
    static let bottoms = 1...Int.max
    static let tops = 1...Int.max
    let g: ConvolutionGeometry

    init(_ l: LayerParameter) throws {
        g = try ConvolutionGeometry(l)
        try ConvolutionGeometry.checkTops(l)
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        try g.plan(bottoms, transposed: false) { r, i, extent in
            let padded = r.spatialIn[i] + 2 * r.pad[i]
            guard padded >= extent else {
                throw PlanError("kernel \(extent) (dilated) is larger than the padded input \(padded) on spatial axis \(i)",
                                at: "convolution_param", "kernel_size")
            }
            return (padded - extent) / r.stride[i] + 1
        }
    }
}

/// Deconvolution (transposed convolution): output stride·(in−1) + dilation·(k−1)+1 − 2·pad.
/// Weights channels × (num_output/group) × kernel.
struct DeconvolutionPlan: LayerPlan {
    static let type = "Deconvolution"
    static let bottoms = 1...Int.max
    static let tops = 1...Int.max
    let g: ConvolutionGeometry

    init(_ l: LayerParameter) throws {
        g = try ConvolutionGeometry(l)
        try ConvolutionGeometry.checkTops(l)
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        try g.plan(bottoms, transposed: true) { r, i, extent in
            let o = r.stride[i] * (r.spatialIn[i] - 1) + extent - 2 * r.pad[i]
            guard o > 0 else { throw PlanError("output size \(o) ≤ 0 on spatial axis \(i): pad is too large", at: "convolution_param", "pad") }
            return o
        }
    }
}

/// Pooling (MAX, AVE, STOCHASTIC) on N×C×H×W. Output ⌈(in + 2·pad − k) / stride⌉ + 1
/// (⌊⌋ with round_mode FLOOR), less one when the last window would start in
/// the padding. A second top holds MAX pooling's argmax mask.
struct PoolingPlan: LayerPlan {
    static let type = "Pooling"
    static let bottoms = 1...1
    static let tops = 1...2
    let method: String
    let global: Bool
    let kernel: (h: Int, w: Int)
    let stride: (h: Int, w: Int)
    let pad: (h: Int, w: Int)
    let ceilMode: Bool

    init(_ l: LayerParameter) throws {
        let f = "pooling_param"
        let p = l.param(f)
        method = p.enumName("pool")
        global = p.bool("global_pooling")
        ceilMode = p.enumName("round_mode") != "FLOOR"
        let hasK = p.has("kernel_size"), hasHW = p.has("kernel_h") || p.has("kernel_w")
        if global {
            guard !hasK, !hasHW else { throw PlanError("with global_pooling the kernel size cannot be given", at: f, hasK ? "kernel_size" : "kernel_h") }
            kernel = (0, 0)
        } else {
            guard hasK != hasHW else {
                throw PlanError(hasK ? "give kernel_size or kernel_h/kernel_w, not both" : "kernel size is required: set kernel_size (or kernel_h and kernel_w)",
                                at: f)
            }
            if hasHW {
                guard p.has("kernel_h"), p.has("kernel_w") else { throw PlanError("give both kernel_h and kernel_w", at: f) }
                kernel = (p.int("kernel_h"), p.int("kernel_w"))
            } else {
                kernel = (p.int("kernel_size"), p.int("kernel_size"))
            }
            guard kernel.h > 0, kernel.w > 0 else { throw PlanError("kernel size must be > 0", at: f, hasK ? "kernel_size" : "kernel_h") }
        }
        if p.has("pad_h") || p.has("pad_w") {
            guard !p.has("pad") else { throw PlanError("give pad or pad_h/pad_w, not both", at: f, "pad") }
            pad = (p.int("pad_h"), p.int("pad_w"))
        } else {
            pad = (p.int("pad"), p.int("pad"))
        }
        if p.has("stride_h") || p.has("stride_w") {
            guard !p.has("stride") else { throw PlanError("give stride or stride_h/stride_w, not both", at: f, "stride") }
            stride = (p.has("stride_h") ? p.int("stride_h") : 1, p.has("stride_w") ? p.int("stride_w") : 1)
        } else {
            stride = (p.int("stride"), p.int("stride"))
        }
        guard stride.h > 0, stride.w > 0 else { throw PlanError("stride must be > 0", at: f, "stride") }
        if global {
            guard pad == (0, 0), stride == (1, 1) else { throw PlanError("with global_pooling only pad 0 and stride 1 are allowed", at: f) }
        }
        if pad != (0, 0) {
            guard method == "MAX" || method == "AVE" else { throw PlanError("padding works only with MAX and AVE pooling", at: f, "pad") }
            guard pad.h < kernel.h, pad.w < kernel.w else { throw PlanError("pad must be smaller than the kernel", at: f, "pad") }
        }
        for v in [kernel.h, kernel.w, stride.h, stride.w, pad.h, pad.w] { try SizeLimit.check(v, "kernel, stride or pad", field: f) }
        if l.tops.count == 2, method != "MAX" {
            throw PlanError("a second top (the argmax mask) exists only for MAX pooling")
        }
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let b = bottoms[0]
        guard b.count == 4 else { throw PlanError("input must have 4 axes (N×C×H×W), found \(describe(b))") }
        let k = global ? (b[2], b[3]) : kernel
        func size(_ input: Int, _ k: Int, _ p: Int, _ s: Int) throws -> Int {
            let span = Double(input + 2 * p - k) / Double(s)
            var o = Int(ceilMode ? span.rounded(.up) : span.rounded(.down)) + 1
            if p > 0, (o - 1) * s >= input + p { o -= 1 }
            guard o > 0, input + 2 * p >= k else {
                throw PlanError("kernel \(k) is larger than the padded input \(input + 2 * p)", at: "pooling_param")
            }
            return o
        }
        let oh = try size(b[2], k.0, pad.h, stride.h)
        let ow = try size(b[3], k.1, pad.w, stride.w)
        let top = [b[0], b[1], oh, ow]
        return PlannedShapes(tops: [top, top])
    }
}

/// Local response normalisation: b = a / (k + α/n · Σ a²)^β over n channels
/// (ACROSS_CHANNELS) or an n×n window (WITHIN_CHANNEL). Shape unchanged.
struct LRNPlan: LayerPlan {
    static let type = "LRN"
    static let bottoms = 1...1
    static let tops = 1...1

    init(_ l: LayerParameter) throws {
        let p = l.param("lrn_param")
        let n = p.int("local_size")
        guard n > 0, n % 2 == 1 else { throw PlanError("local_size must be odd and > 0, found \(n)", at: "lrn_param", "local_size") }
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        guard bottoms[0].count == 4 else { throw PlanError("input must have 4 axes (N×C×H×W), found \(describe(bottoms[0]))") }
        return PlannedShapes(tops: [bottoms[0]])
    }
}

/// Crop: bottom 0 cut to bottom 1's size on every axis from `axis` on, at `offset`.
struct CropPlan: LayerPlan {
    static let type = "Crop"
    static let bottoms = 2...2
    static let tops = 1...1
    let axis: Int
    let offsets: [Int]

    init(_ l: LayerParameter) throws {
        let p = l.param("crop_param")
        axis = p.int("axis")
        offsets = p.ints("offset")
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let (b, ref) = (bottoms[0], bottoms[1])
        let a = try canonicalAxis(axis, b.count, field: "crop_param", "axis")
        guard ref.count == b.count else { throw PlanError("both bottoms must have the same number of axes (\(describe(b)) vs \(describe(ref)))") }
        let n = b.count - a
        guard offsets.count <= 1 || offsets.count == n else {
            throw PlanError("give 0, 1 or \(n) offsets, found \(offsets.count)", at: "crop_param", "offset")
        }
        var top = b
        for i in a..<b.count {
            let off = offsets.isEmpty ? 0 : offsets[offsets.count == 1 ? 0 : i - a]
            guard off + ref[i] <= b[i] else {
                throw PlanError("crop of size \(ref[i]) at offset \(off) does not fit axis \(i) of size \(b[i])", at: "crop_param")
            }
            top[i] = ref[i]
        }
        return PlannedShapes(tops: [top])
    }
}
