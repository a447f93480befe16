import Foundation

/// Caffe nets as ONNX models (`swiftcaffe export-onnx`): each layer becomes
/// the ONNX operators that compute exactly what SwiftCaffe computes, with
/// the Caffe layer names as node names, blob names as value names, and the
/// weights as float32 initializers. A value a layer writes in place gets
/// the name "blob/layer" (ONNX values are written once); graph outputs
/// keep their blob names. A layer without a faithful mapping is refused,
/// naming the layer and why.
public enum OnnxExport {
    public struct Options: Sendable {
        /// The ONNX operator set, 13 to 21.
        public var opset: Int
        /// A free batch dimension ("N") on inputs and outputs.
        public var dynamicBatch: Bool
        /// BatchNorm, and Scale/Bias by per-channel constants, folded into the
        /// weights and bias of the convolution before them.
        public var foldBatchNorm: Bool
        /// Export layers whose ONNX form differs from Caffe's in stated ways
        /// (`OnnxExport.approximations`); without it they are refused.
        public var allowApproximate: Bool

        public init(opset: Int = 13, dynamicBatch: Bool = false, foldBatchNorm: Bool = false, allowApproximate: Bool = false) {
            self.opset = opset
            self.dynamicBatch = dynamicBatch
            self.foldBatchNorm = foldBatchNorm
            self.allowApproximate = allowApproximate
        }
    }

    public static let opsets = 13...21

    /// The serialized ModelProto of `net` (its current weights).
    public static func model(_ net: Net, options: Options = .init()) throws -> [UInt8] {
        guard opsets.contains(options.opset) else {
            throw CaffeError.usage("--opset must be \(opsets.lowerBound) to \(opsets.upperBound), found \(options.opset)")
        }
        var builder = Builder(net: net, options: options)
        try builder.run()
        return builder.model.serialized()
    }

    /// Writes the model to `path`, atomically.
    public static func write(_ net: Net, to path: String, options: Options = .init()) throws {
        let bytes = try model(net, options: options)
        let file = try OutputFile(path)
        try file.write(bytes)
        try file.commit()
    }

    struct Builder {
        let net: Net
        let options: Options
        var model: OnnxModel
        /// The ONNX value that holds each Caffe blob now.
        var current: [String: String] = [:]
        var used: Set<String> = []
        /// Output dimensions a layer's plan leaves open (DetectionOutput's rows).
        var freeOutputDims: [String: OnnxModel.Value] = [:]
        private var counter = 0

        init(net: Net, options: Options) {
            self.net = net
            self.options = options
            model = OnnxModel(graphName: net.graph.name.isEmpty ? "net" : net.graph.name, opset: options.opset)
            model.metadata = [("converted_from", "Caffe"), ("converter", "swiftcaffe export-onnx \(SwiftCaffeVersion.string)")]
        }

        mutating func run() throws {
            let runtime = Dictionary(net.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var problems: [Diagnostic] = []
            // Blobs a refused layer would have made: the layers that read them
            // are passed over, so each refusal is said once, at its cause.
            var unmade: Set<String> = []
            for g in net.graph.layers {
                if g.layer.bottoms.contains(where: unmade.contains) {
                    unmade.formUnion(g.layer.tops)
                    continue
                }
                do {
                    try export(g, runtime[g.layer.name])
                } catch let e as Refusal {
                    problems.append(Diagnostic(.error, "\(g.layer.label): \(e.reason)", at: g.layer.location))
                    unmade.formUnion(g.layer.tops)
                }
            }
            if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
            for name in net.outputBlobNames.sorted() {
                guard let v = current[name], let b = net.blob(name) else { continue }
                model.outputs.append(freeOutputDims[v] ?? .init(name: v, dims: dims(b.shape)))
            }
            if options.foldBatchNorm { foldIntoConvolutions() }
        }

        func dims(_ s: Shape) -> [Int?] {
            s.enumerated().map { i, d in options.dynamicBatch && i == 0 ? nil : d }
        }

        // Names.

        /// The value holding blob `name` (an error if no layer wrote it).
        func input(_ name: String) throws -> String {
            guard let v = current[name] else { throw Refusal("its bottom '\(name)' has no ONNX value (a layer before it was not exported)") }
            return v
        }

        /// A new value for blob `top` written by `layer`: the blob's name the
        /// first time, "top/layer" when the blob already has a value.
        mutating func output(_ top: String, of layer: String) -> String {
            let v = current[top] == nil && !used.contains(top) ? top : unique("\(top)/\(layer)")
            current[top] = v
            used.insert(v)
            return v
        }

        mutating func unique(_ base: String) -> String {
            var v = base
            while used.contains(v) {
                counter += 1
                v = "\(base)_\(counter)"
            }
            used.insert(v)
            return v
        }

        /// A value between two nodes of one layer.
        mutating func temporary(_ layer: String, _ what: String) -> String { unique("\(layer)/\(what)") }

        mutating func constant(_ layer: String, _ what: String, dims: [Int], floats: [Float]) -> String {
            let name = unique("\(layer)/\(what)")
            model.initializers.append(.init(name: name, dims: dims, values: .float(floats)))
            return name
        }

        mutating func constant(_ layer: String, _ what: String, int64s: [Int]) -> String {
            let name = unique("\(layer)/\(what)")
            model.initializers.append(.init(name: name, dims: [int64s.count], values: .int64(int64s)))
            return name
        }

        mutating func node(_ op: String, _ name: String, _ inputs: [String], _ outputs: [String], _ attributes: [OnnxModel.Attribute] = []) {
            model.nodes.append(.init(op: op, name: unique(name), inputs: inputs, outputs: outputs, attributes: attributes))
        }

        // Layers.

        mutating func export(_ g: GraphLayer, _ layer: Layer?) throws {
            let l = g.layer, name = l.name
            let bottomShapes = try g.bottomShapes.enumerated().map { i, s -> Shape in
                guard let s else { throw Refusal("the shape of its bottom '\(l.bottoms[i])' is unknown; give it with --input-shape") }
                return s
            }
            func top(_ j: Int = 0) -> String { output(l.tops[j], of: name) }
            func param(_ k: Int) throws -> Blob {
                guard let layer, k < layer.params.count else { throw Refusal("its parameter blob \(k) is missing") }
                return layer.params[k]
            }
            func single(_ op: String, _ attributes: [OnnxModel.Attribute] = []) throws {
                let x = try input(l.bottoms[0])
                node(op, name, [x], [top()], attributes)
            }

            switch l.type {
            case InputPlan.type:
                for (j, t) in l.tops.enumerated() {
                    guard let s = g.topShapes[j] else { throw Refusal("the shape of input '\(t)' is unknown; give it with --input-shape \(t)=N,C,H,W") }
                    model.inputs.append(.init(name: t, dims: dims(s)))
                    current[t] = t
                    used.insert(t)
                }
            case SplitPlan.type, DropoutPlan.type:
                // Values are shared, not copied; Dropout is the identity at inference.
                let x = try input(l.bottoms[0])
                for t in l.tops { current[t] = x }
            case SilencePlan.type:
                break
            case ConvolutionPlan.type, ConvolutionDepthwisePlan.type, DepthwiseConvolutionPlan.type, DeconvolutionPlan.type:
                guard let plan = g.plan as? any ConvolutionFamilyPlan else { throw Refusal("SwiftCaffe bug: no convolution plan") }
                let geometry = try plan.geometry(bottom: bottomShapes[0])
                let r = try geometry.resolve(bottomShapes[0])
                guard r.axis == 1 else { throw Refusal("convolution over axis \(r.axis) has no ONNX Conv (the channel axis must be 1)") }
                let w = try param(0)
                let wName = constant(name, "weight", dims: w.shape, floats: w.values)
                var inputs = ["", wName]
                if geometry.biasTerm {
                    let b = try param(1)
                    inputs.append(constant(name, "bias", dims: [b.count], floats: b.values))
                }
                let attributes: [OnnxModel.Attribute] = [
                    .ints("kernel_shape", r.kernel), .ints("strides", r.stride), .ints("pads", r.pad + r.pad),
                    .ints("dilations", r.dilation), .int("group", geometry.group),
                ]
                for (j, b) in l.bottoms.enumerated() {
                    inputs[0] = try input(b)
                    node(l.type == DeconvolutionPlan.type ? "ConvTranspose" : "Conv", name, inputs, [top(j)], attributes)
                }
            case PoolingPlan.type:
                try pooling(g, bottomShapes[0])
            case ReLUPlan.type:
                let slope = Float(l.proto.reluParam.negativeSlope)
                try single(slope == 0 ? "Relu" : "LeakyRelu", slope == 0 ? [] : [.float("alpha", slope)])
            case SigmoidPlan.type: try single("Sigmoid")
            case TanHPlan.type: try single("Tanh")
            case AbsValPlan.type: try single("Abs")
            case BNLLPlan.type: try single("Softplus")
            case ELUPlan.type: try single("Elu", [.float("alpha", Float(l.proto.eluParam.alpha))])
            case LRNPlan.type:
                let p = l.proto.lrnParam
                guard p.normRegion == .acrossChannels else {
                    // s = 1 + α/n²·Σ x² over the zero-padded n×n window (an average pool of x²); y = x·s^−β.
                    let n = p.localSize, x = try input(l.bottoms[0])
                    let square = temporary(name, "square"), mean = temporary(name, "window_mean"), power = temporary(name, "power")
                    node("Mul", "\(name)/square", [x, x], [square])
                    node("AveragePool", "\(name)/window", [square], [mean], [.ints("kernel_shape", [n, n]), .ints("strides", [1, 1]),
                                                                              .ints("pads", Array(repeating: (n - 1) / 2, count: 4)), .int("count_include_pad", 1)])
                    let s = try affine(name, "Add", try affine(name, "Mul", mean, Float(p.alpha)), 1)
                    node("Pow", "\(name)/power", [s, constant(name, "minus_beta", dims: [], floats: [-Float(p.beta)])], [power])
                    node("Mul", name, [x, power], [top()])
                    return
                }
                try single("LRN", [.int("size", p.localSize), .float("alpha", Float(p.alpha)), .float("beta", Float(p.beta)), .float("bias", Float(p.k))])
            case InnerProductPlan.type:
                let p = l.proto.innerProductParam
                let axis = try canonicalAxis(p.axis, bottomShapes[0].count)
                let w = try param(0)
                let flat = temporary(name, "flat")
                node("Flatten", "\(name)/flatten", [try input(l.bottoms[0])], [flat], [.int("axis", axis)])
                var inputs = [flat, constant(name, "weight", dims: w.shape, floats: w.values)]
                if p.biasTerm {
                    let b = try param(1)
                    inputs.append(constant(name, "bias", dims: [b.count], floats: b.values))
                }
                if axis == 1 {
                    node("Gemm", name, inputs, [top()], [.int("transB", p.transpose ? 0 : 1)])
                } else {
                    // Gemm works on the flattened rows; the top keeps the axes before `axis`.
                    let rows = temporary(name, "rows")
                    node("Gemm", name, inputs, [rows], [.int("transB", p.transpose ? 0 : 1)])
                    let shape = Array(bottomShapes[0].prefix(axis)) + [p.numOutput]
                    node("Reshape", "\(name)/reshape", [rows, constant(name, "shape", int64s: [-1] + shape.dropFirst())], [top()])
                }
            case SoftmaxPlan.type:
                let axis = try canonicalAxis(l.proto.softmaxParam.axis, bottomShapes[0].count)
                try single("Softmax", [.int("axis", axis)])
            case ConcatPlan.type:
                let p = l.proto.concatParam
                let axis = try canonicalAxis(p.has(.concatDim) ? p.concatDim : p.axis, bottomShapes[0].count)
                node("Concat", name, try l.bottoms.map(input), [top()], [.int("axis", axis)])
            case EltwisePlan.type:
                try eltwise(l)
            case FlattenPlan.type, ReshapePlan.type:
                guard let out = g.topShapes[0] else { throw Refusal("its top shape is unknown") }
                // 0 keeps the batch, so a free batch stays free.
                let target = out.enumerated().map { i, d in i == 0 && d == bottomShapes[0][0] ? 0 : d }
                node("Reshape", name, [try input(l.bottoms[0]), constant(name, "shape", int64s: target)], [top()])
            case BatchNormPlan.type:
                try batchNorm(l, layer, bottomShapes[0])
            case ScalePlan.type, BiasPlan.type:
                try scaleOrBias(l, layer, bottomShapes)
            case PReLUPlan.type:
                let slope = try param(0)
                let rank = bottomShapes[0].count
                let dims = slope.count == 1 ? [1] : [slope.count] + Array(repeating: 1, count: max(0, rank - 2))
                node("PRelu", name, [try input(l.bottoms[0]), constant(name, "slope", dims: dims, floats: slope.values)], [top()])
            case PowerPlan.type:
                let p = l.proto.powerParam
                var x = try input(l.bottoms[0])
                let steps = [(p.scale != 1, "Mul", Float(p.scale)), (p.shift != 0, "Add", Float(p.shift)), (p.power != 1, "Pow", Float(p.power))]
                let active = steps.filter(\.0)
                if active.isEmpty { current[l.tops[0]] = x }
                for (k, step) in active.enumerated() {
                    let out = k == active.count - 1 ? top() : temporary(name, step.1.lowercased())
                    node(step.1, "\(name)/\(step.1.lowercased())", [x, constant(name, step.1.lowercased(), dims: [], floats: [step.2])], [out])
                    x = out
                }
            case ReLU6Plan.type, ClipPlan.type:
                let (lo, hi): (Float, Float) = l.type == ReLU6Plan.type ? (0, 6) : (Float(l.proto.clipParam.min), Float(l.proto.clipParam.max))
                node("Clip", name, [try input(l.bottoms[0]), constant(name, "min", dims: [], floats: [lo]), constant(name, "max", dims: [], floats: [hi])], [top()])
            case SlicePlan.type:
                let p = l.proto.sliceParam
                let axis = try canonicalAxis(p.has(.sliceDim) ? p.sliceDim : p.axis, bottomShapes[0].count)
                let sizes = try g.topShapes.map { s -> Int in
                    guard let s else { throw Refusal("its top shapes are unknown") }
                    return s[axis]
                }
                let x = try input(l.bottoms[0])
                node("Split", name, [x, constant(name, "split", int64s: sizes)], l.tops.indices.map { top($0) }, [.int("axis", axis)])
            case PermutePlan.type:
                guard let plan = g.plan as? PermutePlan else { throw Refusal("SwiftCaffe bug: no Permute plan") }
                try single("Transpose", [.ints("perm", try plan.order(axes: bottomShapes[0].count))])
            case ShuffleChannelPlan.type:
                guard let plan = g.plan as? ShuffleChannelPlan else { throw Refusal("SwiftCaffe bug: no ShuffleChannel plan") }
                let b = bottomShapes[0]
                guard b.count >= 2 else { throw Refusal("ShuffleChannel needs a channel axis") }
                // Channels as group × C/group, swapped to C/group × group.
                let split = temporary(name, "groups"), swapped = temporary(name, "swapped")
                node("Reshape", "\(name)/groups", [try input(l.bottoms[0]), constant(name, "groups_shape", int64s: [0, plan.group, b[1] / plan.group, -1])], [split])
                node("Transpose", "\(name)/swap", [split], [swapped], [.ints("perm", [0, 2, 1, 3])])
                node("Reshape", name, [swapped, constant(name, "shape", int64s: [0] + Array(b.dropFirst()))], [top()])
            case AxpyPlan.type:
                // a·x + y, a of shape N×C×1×1 broadcast over x's positions.
                let scaled = temporary(name, "ax")
                node("Mul", "\(name)/mul", [try input(l.bottoms[0]), try input(l.bottoms[1])], [scaled])
                node("Add", name, [scaled, try input(l.bottoms[2])], [top()])
            case ThresholdPlan.type:
                let above = temporary(name, "above")
                node("Greater", "\(name)/greater", [try input(l.bottoms[0]), constant(name, "threshold", dims: [], floats: [Float(l.proto.thresholdParam.threshold)])], [above])
                node("Cast", name, [above], [top()], [.int("to", 1)])
            case ExpPlan.type, LogPlan.type:
                let isExp = l.type == ExpPlan.type
                let (base, scale, shift) = isExp ? (l.proto.expParam.base, l.proto.expParam.scale, l.proto.expParam.shift)
                                                 : (l.proto.logParam.base, l.proto.logParam.scale, l.proto.logParam.shift)
                let lnBase = base == -1 ? 1.0 : log(base)
                // exp: e^(ln b·(shift + scale·x)); log: ln(shift + scale·x) / ln b.
                let (a, c) = isExp ? (scale * lnBase, shift * lnBase) : (scale, shift)
                var x = try input(l.bottoms[0])
                if a != 1 { x = try affine(name, "Mul", x, Float(a)) }
                if c != 0 { x = try affine(name, "Add", x, Float(c)) }
                if isExp || lnBase == 1 {
                    node(isExp ? "Exp" : "Log", name, [x], [top()])
                } else {
                    let ln = temporary(name, "ln")
                    node("Log", "\(name)/ln", [x], [ln])
                    node("Mul", name, [ln, constant(name, "inverse_ln_base", dims: [], floats: [Float(1 / lnBase)])], [top()])
                }
            case SwishPlan.type:
                let x = try input(l.bottoms[0])
                let beta = Float(l.proto.swishParam.beta)
                let scaled = beta == 1 ? x : try affine(name, "Mul", x, beta)
                let gate = temporary(name, "sigmoid")
                node("Sigmoid", "\(name)/sigmoid", [scaled], [gate])
                node("Mul", name, [x, gate], [top()])
            case CropPlan.type:
                guard let plan = g.plan as? CropPlan else { throw Refusal("SwiftCaffe bug: no Crop plan") }
                let (b, ref) = (bottomShapes[0], bottomShapes[1])
                let a = try canonicalAxis(plan.axis, b.count)
                let axes = Array(a..<b.count)
                let offsets = axes.map { i in plan.offsets.isEmpty ? 0 : plan.offsets.count == 1 ? plan.offsets[0] : plan.offsets[i - a] }
                node("Slice", name, [try input(l.bottoms[0]), constant(name, "starts", int64s: offsets),
                                     constant(name, "ends", int64s: zip(offsets, axes).map { $0 + ref[$1] }), constant(name, "axes", int64s: axes)], [top()])
            case TilePlan.type:
                guard let plan = g.plan as? TilePlan else { throw Refusal("SwiftCaffe bug: no Tile plan") }
                let a = try canonicalAxis(plan.axis, bottomShapes[0].count)
                let repeats = bottomShapes[0].indices.map { $0 == a ? plan.tiles : 1 }
                node("Tile", name, [try input(l.bottoms[0]), constant(name, "repeats", int64s: repeats)], [top()])
            case MVNPlan.type:
                let p = l.proto.mvnParam, rank = bottomShapes[0].count
                let axes = Array((p.acrossChannels ? 1 : 2)..<rank)
                let x = try input(l.bottoms[0])
                let mean = temporary(name, "mean"), centred = p.normalizeVariance ? temporary(name, "centred") : top()
                reduce("ReduceMean", name, x, axes, keep: true, into: mean)
                node("Sub", "\(name)/centre", [x, mean], [centred])
                if p.normalizeVariance {
                    let square = temporary(name, "square"), variance = temporary(name, "variance"), sigma = temporary(name, "sigma")
                    node("Mul", "\(name)/square", [centred, centred], [square])
                    reduce("ReduceMean", "\(name)/variance", square, axes, keep: true, into: variance)
                    node("Sqrt", "\(name)/sigma", [variance], [sigma])
                    // Caffe adds ε to σ, not to σ².
                    let guarded = try affine(name, "Add", sigma, Float(p.eps))
                    node("Div", name, [centred, guarded], [top()])
                }
            case ReductionPlan.type:
                let p = l.proto.reductionParam, rank = bottomShapes[0].count
                let a = try canonicalAxis(p.axis, rank)
                let op: String
                switch p.operation {
                case .asum: op = "ReduceL1"
                case .sumsq: op = "ReduceSumSquare"
                case .mean: op = "ReduceMean"
                default: op = "ReduceSum"
                }
                let x = try input(l.bottoms[0])
                let coeff = Float(p.coeff)
                let reduced = coeff == 1 ? top() : temporary(name, "reduced")
                reduce(op, name, x, Array(a..<rank), keep: false, into: reduced)
                if coeff != 1 { node("Mul", "\(name)/coeff", [reduced, constant(name, "coeff", dims: [], floats: [coeff])], [top()]) }
            case NormalizePlan.type:
                guard let plan = g.plan as? NormalizePlan else { throw Refusal("SwiftCaffe bug: no Normalize plan") }
                let rank = bottomShapes[0].count
                let x = try input(l.bottoms[0])
                let sum = temporary(name, "sum_squares"), norm = temporary(name, "norm"), unit = temporary(name, "unit")
                reduce("ReduceSumSquare", name, x, plan.acrossSpatial ? Array(1..<rank) : [1], keep: true, into: sum)
                node("Sqrt", "\(name)/norm", [try affine(name, "Add", sum, plan.eps)], [norm])
                node("Div", "\(name)/unit", [x, norm], [unit])
                let s = try param(0)
                let dims = plan.channelShared ? [1] : [s.count] + Array(repeating: 1, count: max(0, rank - 2))
                node("Mul", "\(name)/scale", [unit, constant(name, "scale", dims: dims, floats: s.values)], [top()])
            case PriorBoxPlan.type:
                // Boxes depend on the shapes only: computed here, exported as a constant.
                guard let i = net.layers.firstIndex(where: { $0.name == name }) else { throw Refusal("SwiftCaffe bug: no runtime layer") }
                try net.forward(layer: i)
                let boxes = net.tops(of: i)[0]
                node("Identity", name, [constant(name, "boxes", dims: boxes.shape, floats: boxes.values)], [top()])
            case InterpPlan.type, UpsamplePlan.type:
                guard let out = g.topShapes[0] else { throw Refusal("its top shape is unknown") }
                if l.bottoms.count == 2 {
                    try unpool(l, bottomShapes[0], out)
                    return
                }
                var x = try input(l.bottoms[0])
                if let interp = g.plan as? InterpPlan, interp.padBegin != 0 || interp.padEnd != 0 {
                    // pad_beg and pad_end are ≤ 0: the input is cropped, then resized.
                    let (h, w) = (bottomShapes[0][2], bottomShapes[0][3]), cropped = temporary(name, "cropped")
                    node("Slice", "\(name)/crop", [x, constant(name, "starts", int64s: [-interp.padBegin, -interp.padBegin]),
                                                   constant(name, "ends", int64s: [h + interp.padEnd, w + interp.padEnd]),
                                                   constant(name, "axes", int64s: [2, 3])], [cropped])
                    x = cropped
                }
                if let up = g.plan as? UpsamplePlan, out[2] != bottomShapes[0][2] * up.scaleH || out[3] != bottomShapes[0][3] * up.scaleW {
                    throw Refusal("an Upsample to \(out[2])×\(out[3]), not a whole multiple of the input, is not exported yet")
                }
                let attributes: [OnnxModel.Attribute] = l.type == InterpPlan.type
                    ? [.string("mode", "linear"), .string("coordinate_transformation_mode", "align_corners")]
                    : [.string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"), .string("nearest_mode", "floor")]
                node("Resize", name, [x, "", "", sizes(name, of: x, batchAndChannels: out)], [top()], attributes)
            case EmbedPlan.type:
                let w = try param(0)
                let indices = temporary(name, "indices")
                node("Cast", "\(name)/indices", [try input(l.bottoms[0])], [indices], [.int("to", 7)])
                let bias = l.proto.embedParam.biasTerm
                let rows = bias ? temporary(name, "rows") : top()
                node("Gather", name, [constant(name, "weight", dims: w.shape, floats: w.values), indices], [rows], [.int("axis", 0)])
                if bias {
                    let b = try param(1)
                    node("Add", "\(name)/bias", [rows, constant(name, "bias", dims: [b.count], floats: b.values)], [top()])
                }
            case ArgMaxPlan.type:
                guard let plan = g.plan as? ArgMaxPlan else { throw Refusal("SwiftCaffe bug: no ArgMax plan") }
                guard let out = g.topShapes[0] else { throw Refusal("its top shape is unknown") }
                try argMax(l, plan, bottomShapes[0], out)
            case DetectionOutputPlan.type:
                guard let plan = g.plan as? DetectionOutputPlan else { throw Refusal("SwiftCaffe bug: no DetectionOutput plan") }
                try detectionOutput(l, plan, bottomShapes)
            default:
                throw Refusal(LayerCatalog.plan(l.type) is any SourcePlan.Type
                              ? "a data layer has no ONNX operator; export the deploy net (`swiftcaffe deploy`), whose inputs are Input layers"
                              : l.type == HDF5OutputPlan.type
                              ? "HDF5Output writes its bottoms to a file, which an ONNX model cannot do; remove it to export its bottoms as outputs"
                              : Swift.type(of: g.plan).isLoss || l.type == AccuracyPlan.type
                              ? "losses and Accuracy are training layers; export the deploy net (`swiftcaffe deploy`)"
                              : "\(l.type) has no ONNX mapping in SwiftCaffe yet")
            }
        }

        /// Caffe's ArgMax: TopK, whose ties go to the lower index, run on the
        /// input reversed along the axis, so that they go to the higher one
        /// as Caffe's sort of (value, index) pairs orders them; the indices
        /// are turned back (D − 1 − i) and written as floats.
        mutating func argMax(_ l: LayerParameter, _ plan: ArgMaxPlan, _ b: Shape, _ shape: Shape) throws {
            let name = l.name, k = plan.topK
            var x = try input(l.bottoms[0])
            let axis: Int
            if let a = plan.axis {
                axis = try canonicalAxis(a, b.count)
            } else {
                let flat = temporary(name, "flat")
                node("Flatten", "\(name)/flatten", [x], [flat], [.int("axis", 1)])
                (x, axis) = (flat, 1)
            }
            let d = plan.axis == nil ? count(b, from: 1) : b[axis]
            let reversed = temporary(name, "reversed"), values = temporary(name, "values"), reversedIndices = temporary(name, "reversed_indices")
            node("Slice", "\(name)/reverse", [x, constant(name, "starts", int64s: [-1]), constant(name, "ends", int64s: [Int.min]),
                                              constant(name, "axes", int64s: [axis]), constant(name, "steps", int64s: [-1])], [reversed])
            node("TopK", name, [reversed, constant(name, "k", int64s: [k])], [values, reversedIndices], [.int("axis", axis)])
            let out = output(l.tops[0], of: name)
            if plan.axis != nil, plan.outMaxVal {
                node("Identity", "\(name)/values", [values], [out])
                return
            }
            let indices = temporary(name, "indices_int64"), floats = plan.outMaxVal || plan.axis == nil ? temporary(name, "indices") : out
            node("Sub", "\(name)/unreverse", [constant(name, "last", int64s: [d - 1]), reversedIndices], [indices])
            node("Cast", "\(name)/cast", [indices], [floats], [.int("to", 1)])
            guard plan.axis == nil else { return }
            var rows = floats
            if plan.outMaxVal {
                rows = temporary(name, "indices_values")
                node("Concat", "\(name)/concat", [floats, values], [rows], [.int("axis", 1)])
            }
            node("Reshape", "\(name)/reshape", [rows, constant(name, "shape", int64s: [0] + shape.dropFirst())], [out])
        }

        /// Resize's `sizes`: `shape` as a constant, or with a free batch, the
        /// input's first two dimensions followed by `shape`'s last two.
        mutating func sizes(_ name: String, of x: String, batchAndChannels shape: Shape) -> String {
            guard options.dynamicBatch else { return constant(name, "sizes", int64s: shape) }
            return leadingDimensions(name, of: x, then: Array(shape.dropFirst(2)), as: "sizes")
        }

        /// A shape value: x's dimensions 0 and 1, then the constant `rest`.
        mutating func leadingDimensions(_ name: String, of x: String, then rest: [Int], as what: String) -> String {
            let shape = temporary(name, "input_shape"), leading = temporary(name, "batch_channels"), out = temporary(name, what)
            node("Shape", "\(name)/shape", [x], [shape])
            node("Slice", "\(name)/batch_channels", [shape, constant(name, "leading_starts", int64s: [0]), constant(name, "leading_ends", int64s: [2])], [leading])
            node("Concat", "\(name)/\(what)", [leading, constant(name, "trailing", int64s: rest)], [out], [.int("axis", 0)])
            return out
        }

        /// SegNet's Upsample by a mask: each value scattered to the position
        /// its mask names in a zero plane. Overlapping pools may name one
        /// position twice, but then both carry the value found there.
        mutating func unpool(_ l: LayerParameter, _ b: Shape, _ out: Shape) throws {
            let name = l.name, plane = out[2] * out[3]
            let x = try input(l.bottoms[0]), mask = try input(l.bottoms[1])
            let values = temporary(name, "values"), positions = temporary(name, "positions_float"), indices = temporary(name, "positions")
            let zeros = temporary(name, "zeros"), scattered = temporary(name, "scattered")
            let rows = constant(name, "rows_shape", int64s: [0, 0, -1])
            node("Reshape", "\(name)/values", [x, rows], [values])
            node("Reshape", "\(name)/positions", [mask, rows], [positions])
            node("Cast", "\(name)/cast", [positions], [indices], [.int("to", 7)])
            let zeroShape = options.dynamicBatch ? leadingDimensions(name, of: x, then: [plane], as: "plane_shape")
                                                 : constant(name, "plane_shape", int64s: [b[0], b[1], plane])
            node("Expand", "\(name)/zeros", [constant(name, "zero", dims: [1], floats: [0]), zeroShape], [zeros])
            node("ScatterElements", name, [zeros, indices, values], [scattered], [.int("axis", 2)])
            node("Reshape", "\(name)/reshape", [scattered, constant(name, "shape", int64s: [0, 0, out[2], out[3]])], [output(l.tops[0], of: name)])
        }

        /// x op c for a scalar constant c (Mul, Add), into a new value.
        mutating func affine(_ layer: String, _ op: String, _ x: String, _ c: Float) throws -> String {
            let out = temporary(layer, op.lowercased())
            node(op, "\(layer)/\(op.lowercased())", [x, constant(layer, op.lowercased(), dims: [], floats: [c])], [out])
            return out
        }

        /// A Reduce* node over `axes`: an attribute before the opset that made
        /// it an input (13 for ReduceSum, 18 for the others).
        mutating func reduce(_ op: String, _ name: String, _ x: String, _ axes: [Int], keep: Bool, into out: String) {
            let asInput = options.opset >= (op == "ReduceSum" ? 13 : 18)
            node(op, name, asInput ? [x, constant(name, "axes", int64s: axes)] : [x], [out],
                 (asInput ? [] : [.ints("axes", axes)]) + [.int("keepdims", keep ? 1 : 0)])
        }

        /// Caffe's pooling: the output size rounded up (and the last window
        /// dropped if it starts in the padding), written as explicit end
        /// padding; AVE's divisor counts padding up to H + pad only, which
        /// a constant per-position correction restores where ONNX counts more.
        mutating func pooling(_ g: GraphLayer, _ b: Shape) throws {
            let l = g.layer, name = l.name
            guard let plan = g.plan as? PoolingPlan, let out = g.topShapes[0] else { throw Refusal("its top shape is unknown") }
            guard l.tops.count == 1 || plan.method == .max && !plan.global else { throw Refusal("a global pooling's mask top has no ONNX operator") }
            let x = try input(l.bottoms[0])
            switch plan.method {
            case .max, .ave: break
            default: throw Refusal("STOCHASTIC pooling has no ONNX operator")
            }
            if plan.global {
                node(plan.method == .max ? "GlobalMaxPool" : "GlobalAveragePool", name, [x], [output(l.tops[0], of: name)])
                return
            }
            let (kh, kw) = plan.kernel, (sh, sw) = plan.stride, (ph, pw) = plan.pad
            let (oh, ow) = (out[2], out[3]), (h, w) = (b[2], b[3])
            // Rounded down (round_mode FLOOR), Caffe's size is ONNX's with the
            // same padding at both ends; rounded up, the end padding grows to
            // hold the last window.
            let endH = plan.ceilMode ? (oh - 1) * sh + kh - h - ph : ph, endW = plan.ceilMode ? (ow - 1) * sw + kw - w - pw : pw
            guard endH >= 0, endW >= 0 else { throw Refusal("its windows end before the input does; this pooling has no exact ONNX form") }
            var attributes: [OnnxModel.Attribute] = [.ints("kernel_shape", [kh, kw]), .ints("strides", [sh, sw]), .ints("pads", [ph, pw, endH, endW])]
            if plan.method == .max {
                guard l.tops.count == 2 else {
                    node("MaxPool", name, [x], [output(l.tops[0], of: name)], attributes)
                    return
                }
                // ONNX counts the position over the whole tensor, Caffe's mask within the plane.
                let position = temporary(name, "position"), inPlane = temporary(name, "position_in_plane")
                node("MaxPool", name, [x], [output(l.tops[0], of: name), position], attributes)
                node("Mod", "\(name)/in_plane", [position, constant(name, "plane", int64s: [h * w])], [inPlane])
                node("Cast", "\(name)/mask", [inPlane], [output(l.tops[1], of: name)], [.int("to", 1)])
                return
            }
            attributes.append(.int("count_include_pad", 1))
            // Caffe divides by the window clipped to [−pad, H + pad).
            var correction = [Float](repeating: 1, count: oh * ow)
            var needed = false
            for i in 0..<oh {
                for j in 0..<ow {
                    let hs = i * sh - ph, ws = j * sw - pw
                    let area = (min(hs + kh, h + ph) - hs) * (min(ws + kw, w + pw) - ws)
                    if area != kh * kw {
                        correction[i * ow + j] = Float(kh * kw) / Float(area)
                        needed = true
                    }
                }
            }
            if !needed {
                node("AveragePool", name, [x], [output(l.tops[0], of: name)], attributes)
                return
            }
            let pooled = temporary(name, "pooled")
            node("AveragePool", name, [x], [pooled], attributes)
            node("Mul", "\(name)/divisor", [pooled, constant(name, "divisor", dims: [1, 1, oh, ow], floats: correction)], [output(l.tops[0], of: name)])
        }

        mutating func eltwise(_ l: LayerParameter) throws {
            let p = l.proto.eltwiseParam, name = l.name
            var xs = try l.bottoms.map(input)
            switch p.operation {
            case .prod:
                node("Mul", name, xs.count == 2 ? xs : [xs[0], xs[1]], [xs.count == 2 ? output(l.tops[0], of: name) : temporary(name, "prod1")])
                if xs.count > 2 {
                    var acc = model.nodes.last!.outputs[0]
                    for k in 2..<xs.count {
                        let out = k == xs.count - 1 ? output(l.tops[0], of: name) : temporary(name, "prod\(k)")
                        node("Mul", name, [acc, xs[k]], [out])
                        acc = out
                    }
                }
            case .max:
                node("Max", name, xs, [output(l.tops[0], of: name)])
            default:
                let coeff = p.coeff.map(Float.init)
                if !coeff.isEmpty {
                    guard coeff.count == xs.count else { throw Refusal("eltwise_param has \(coeff.count) coeff for \(xs.count) bottoms") }
                    for (k, c) in coeff.enumerated() where c != 1 {
                        let scaled = temporary(name, "coeff\(k)")
                        node("Mul", "\(name)/coeff\(k)", [xs[k], constant(name, "coeff\(k)", dims: [], floats: [c])], [scaled])
                        xs[k] = scaled
                    }
                }
                node("Sum", name, xs, [output(l.tops[0], of: name)])
            }
        }

        /// BatchNorm with its stored statistics (each divided by the stored
        /// scale factor, as Caffe does); the γ and β of a following Scale stay
        /// that layer's.
        mutating func batchNorm(_ l: LayerParameter, _ layer: Layer?, _ b: Shape) throws {
            let p = l.proto.batchNormParam, name = l.name
            if p.has(.useGlobalStats), !p.useGlobalStats {
                throw Refusal("use_global_stats: false normalises by each batch's statistics, which ONNX's BatchNormalization does not")
            }
            guard let layer, layer.params.count == 3 else { throw Refusal("its three statistics blobs are missing") }
            let factor = layer.params[2].values.first ?? 1
            let s: Float = factor == 0 ? 0 : 1 / factor
            let c = layer.params[0].count
            let x = try input(l.bottoms[0])
            node("BatchNormalization", name, [
                x, constant(name, "scale", dims: [c], floats: Array(repeating: 1, count: c)),
                constant(name, "bias", dims: [c], floats: Array(repeating: 0, count: c)),
                constant(name, "mean", dims: [c], floats: layer.params[0].values.map { $0 * s }),
                constant(name, "var", dims: [c], floats: layer.params[1].values.map { $0 * s }),
            ], [output(l.tops[0], of: name)], [.float("epsilon", Float(p.eps))])
        }

        /// Scale (x·γ + β) and Bias (x + β): the operand right-aligned with
        /// trailing ones so ONNX's broadcasting puts it at `axis`.
        mutating func scaleOrBias(_ l: LayerParameter, _ layer: Layer?, _ shapes: [Shape]) throws {
            let name = l.name, isScale = l.type == ScalePlan.type
            let axisValue = isScale ? l.proto.scaleParam.axis : l.proto.biasParam.axis
            let rank = shapes[0].count
            let axis = try canonicalAxis(axisValue, rank)
            var x = try input(l.bottoms[0])
            func aligned(_ s: Shape) -> [Int] { s + Array(repeating: 1, count: max(0, rank - axis - s.count)) }
            var params = layer?.params ?? []
            let ops: [String] = isScale ? (l.proto.scaleParam.biasTerm ? ["Mul", "Add"] : ["Mul"]) : ["Add"]
            for (k, op) in ops.enumerated() {
                let operand: String
                if k == 0, l.bottoms.count == 2 {
                    let s = shapes[1]
                    operand = temporary(name, "operand")
                    node("Reshape", "\(name)/operand", [try input(l.bottoms[1]), constant(name, "operand_shape", int64s: aligned(s))], [operand])
                } else {
                    guard !params.isEmpty else { throw Refusal("its parameter blob is missing") }
                    let blob = params.removeFirst()
                    operand = constant(name, op == "Mul" ? "scale" : "bias", dims: aligned(blob.shape), floats: blob.values)
                }
                let out = k == ops.count - 1 ? output(l.tops[0], of: name) : temporary(name, "scaled")
                node(op, ops.count == 1 ? name : "\(name)/\(op.lowercased())", [x, operand], [out])
                x = out
            }
        }
    }

    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
