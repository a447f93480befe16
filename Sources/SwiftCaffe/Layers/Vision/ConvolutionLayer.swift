/// Convolution: output size ⌊(in + 2·pad − (dilation·(k−1)+1)) / stride⌋ + 1 per spatial axis.
/// Weights num_output × (channels/group) × kernel; bias num_output.
struct ConvolutionPlan: ConvolutionFamilyPlan {
    static let type = "Convolution"
    let g: ConvolutionGeometry

    init(geometry: ConvolutionGeometry) { g = geometry }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        try g.plan(bottoms, transposed: false) { r, i, extent in
            let padded = r.spatialIn[i] + 2 * r.pad[i]
            guard padded >= extent else {
                throw PlanError("kernel \(extent) (dilated) is larger than the padded input \(padded) on spatial axis \(i)",
                                at: g.param.location(of: .kernelSize))
            }
            return (padded - extent) / r.stride[i] + 1
        }
    }
}

/// Convolution: forward by the engine chosen at reshape for the geometry and
/// batch (Runtime/Kernels: 1×1, depthwise, Winograd F(4×4, 3×3), direct summation,
/// whole small images per thread, or im2col + GEMM over chunks of images),
/// with the bias or a fused epilogue applied as each output is written.
/// Backward (but depthwise, which has its own) by im2col + GEMM over chunks: R = dtop rearranged to M × N·HW,
/// db += row sums of R, dW_g += R_g · col_gᵀ, dcol_g = W_gᵀ · R_g, col2im into
/// each dbottom (a 1×1 kernel: one product per image, no columns). Two
/// spatial axes.
final class ConvolutionLayer: ConvolutionFamilyLayer {
    /// How forward runs, chosen at reshape (ConvolutionEngines.choose).
    private var engine: (any ConvolutionEngine)?
    /// A 1×1 kernel's backward needs no columns either.
    private var isPointwise: Bool { engine is PointwiseConvolution }
    var usesWinograd: Bool { engine is WinogradF43 }
    var usesDirect: Bool { engine is DirectConvolution }

    /// The weights as fp16 or bfloat16 bit patterns (`Net.storeWeights(as:)`),
    /// which the GEMM engines read through NarrowGEMM. The other engines
    /// (Winograd, direct, depthwise), and all of them on CPUs without
    /// AVX-512, take `roundedWeights`: floats rounded to the same values, so
    /// every engine computes with the same weights.
    private(set) var compactWeights: CompactWeights?
    private var roundedWeights: [Float]?

    /// Keeps a copy of the current weights at `precision` (nil for fp32: the floats again).
    func storeWeights(as precision: WeightPrecision) {
        roundedWeights = nil
        compactWeights = CompactWeights(params[0], as: precision)
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let r = try resolve2D(bottoms, tops)
        let top = tops[0].shape
        conv = ConvGeometry2D(r, channels: r.channels, height: r.spatialIn[0], width: r.spatialIn[1],
                              outH: top[r.axis + 1], outW: top[r.axis + 2])
        engine = ConvolutionEngines.choose(conv, group: geometry.group, outputs: geometry.numOutput, images: r.outer)
    }

    /// (outputs per group, column rows per group, output positions per image).
    private var sizes: (m: Int, k: Int, hw: Int) {
        (geometry.numOutput / geometry.group, conv.colRows / geometry.group, conv.colCols)
    }

    private var imageSize: Int { conv.channels * conv.height * conv.width }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws { try forward(bottoms, tops, epilogue: nil) }

    /// A fused inference forward (InferenceFusion): the per-channel layers
    /// after this one, or the Concat it feeds, applied as the output is written.
    override func forward(_ bottoms: [Blob], _ tops: [Blob], absorbing work: AbsorbedWork) throws {
        guard case .epilogue(let e) = work else { preconditionFailure("a convolution absorbs an epilogue") }
        try forward(bottoms, tops, epilogue: e)
    }

    private func forward(_ bottoms: [Blob], _ tops: [Blob], epilogue: ConvEpilogue?) throws {
        guard let engine else { preconditionFailure("a convolution is reshaped before its forward pass") }
        let hw = conv.colCols
        let outputs = geometry.numOutput
        let bias = geometry.biasTerm ? SharedPointer(params[1].data) : nil
        // Without an epilogue: y = R + b. With one: y = relu(R·a + c), where c folds in the bias.
        let map: ConvEpilogue.Resolved = epilogue?.resolve(bias: bias, outputs: outputs)
            ?? ConvEpilogue.Resolved(scale: nil, shift: bias.map { b in (0..<outputs).map { b[$0] } }, slope: nil)
        for (b, t) in zip(bottoms, tops) {
            // Where image n's channel o starts: y + n·stride + o·hw.
            let (y, stride) = epilogue?.destination.map { ($0.blob.data + $0.channelOffset * hw, $0.blob.count / max(outer, 1)) }
                ?? (t.data, outputs * hw)
            guard let compact = compactWeights else {
                engine.forward(x: b.data, images: outer, weights: params[0].data, map: map, y: y, yStride: stride, workspace: workspace)
                continue
            }
            if NarrowGEMM.available, let gemm = engine as? any GEMMConvolutionEngine {
                compact.bits.withUnsafeBufferPointer { half in
                    gemm.forward(x: b.data, images: outer, weights: NarrowGEMM.LeftMatrix(base: half.baseAddress!, precision: compact.precision),
                                 map: map, y: y, yStride: stride, workspace: workspace)
                }
            } else {
                if roundedWeights == nil { roundedWeights = (0..<params[0].count).map { compact.precision.rounded(params[0].data[$0]) } }
                roundedWeights!.withUnsafeBufferPointer { w in
                    engine.forward(x: b.data, images: outer, weights: w.baseAddress!, map: map, y: y, yStride: stride, workspace: workspace)
                }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if let compact = compactWeights { throw fail(compact.backwardRefusal) }
        for (i, (b, t)) in zip(bottoms, tops).enumerated() {
            if let depthwise = engine as? DepthwiseConvolution {
                depthwise.backward(x: b.data, dy: t.diff, images: outer, weights: params[0].data, weightDiff: params[0].diff,
                                   biasDiff: geometry.biasTerm ? params[1].diff : nil, dx: propagateDown[i] ? b.diff : nil,
                                   workspace: workspace)
            } else if isPointwise {
                pointwiseBackward(b, t, propagateDown: propagateDown[i])
            } else {
                columnBackward(b, t, propagateDown: propagateDown[i])
            }
        }
    }

    /// A 1×1 kernel: dW += dy · xᵀ and dx = Wᵀ · dy per image and group.
    private func pointwiseBackward(_ b: Blob, _ t: Blob, propagateDown: Bool) {
        let (m, k, hw) = sizes
        let topSize = geometry.numOutput * hw
        if geometry.biasTerm { biasGradient(t.diff, images: outer, ld: hw) }
        for image in 0..<outer {
            for g in 0..<geometry.group {
                BLAS.gemm(transB: true, m: m, n: k, k: hw, a: t.diff + image * topSize + g * m * hw,
                          b: b.data + image * imageSize + g * k * hw, beta: 1, c: params[0].diff + g * m * k)
                if propagateDown {
                    BLAS.gemm(transA: true, m: k, n: hw, k: m, a: params[0].data + g * m * k, b: t.diff + image * topSize + g * m * hw,
                              c: b.diff + image * imageSize + g * k * hw)
                }
            }
        }
    }

    /// Chunks of images whose columns stay in cache, as in forward.
    private func columnBackward(_ b: Blob, _ t: Blob, propagateDown: Bool) {
        let (m, k, hw) = sizes
        let topSize = geometry.numOutput * hw
        let per = ColumnConvolution.imagesPerChunk(conv, images: outer)
        var first = 0
        while first < outer {
            let images = min(per, outer - first)
            let width = images * hw
            // R: this chunk's dtop as M × (images·HW).
            let result = workspace.buffer(1, count: geometry.numOutput * width)
            let r = SharedPointer(result), dy = SharedPointer(t.diff + first * topSize)
            let outputs = geometry.numOutput
            Parallel.forEach(images * outputs) { j in
                let (n, o) = (j / outputs, j % outputs)
                (r.advanced(by: o * width + n * hw)).update(from: dy.advanced(by: n * topSize + o * hw), count: hw)
            }
            if geometry.biasTerm {
                let db = params[1].diff
                for o in 0..<outputs {
                    var s: Float = 0
                    let row = result + o * width
                    for j in 0..<width { s += row[j] }
                    db[o] += s
                }
            }
            let col = ColumnConvolution.columns(conv, of: b.data, first: first, images: images, workspace: workspace)
            for g in 0..<geometry.group {
                BLAS.gemm(transB: true, m: m, n: k, k: width, a: result + g * m * width, b: col + g * k * width, beta: 1,
                          c: params[0].diff + g * m * k)
            }
            if propagateDown {
                // The columns are no longer needed: reuse them for dcol.
                for g in 0..<geometry.group {
                    BLAS.gemm(transA: true, m: k, n: width, k: m, a: params[0].data + g * m * k, b: result + g * m * width,
                              c: col + g * k * width)
                }
                // Each image gathers into its own gradient.
                let (geometry, size) = (conv, imageSize)
                let (src, dst) = (SharedPointer(col), SharedPointer(b.diff + first * imageSize))
                let channels = geometry.channels
                Parallel.forEach(images * channels) { i in
                    let image = i / channels
                    geometry.col2im(src.advanced(by: image * hw), dst.advanced(by: image * size), ld: width, channel: i % channels)
                }
            }
            first += images
        }
    }

    /// db[o] += Σ over images and positions of dtop (pointwise case).
    private func biasGradient(_ dy: UnsafeMutablePointer<Float>, images: Int, ld hw: Int) {
        let outputs = geometry.numOutput, db = params[1].diff
        for n in 0..<images {
            for o in 0..<outputs {
                let row = dy + (n * outputs + o) * hw
                var s: Float = 0
                for j in 0..<hw { s += row[j] }
                db[o] += s
            }
        }
    }
}
