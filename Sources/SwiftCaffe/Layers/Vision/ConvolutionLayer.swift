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
                                at: g.param.location(of: .kernelSize))
            }
            return (padded - extent) / r.stride[i] + 1
        }
    }
}

/// Convolution as one GEMM per group over the whole batch: the column
/// matrices of all images side by side (K × N·HW), then
///   R_g = W_g · col_g,   top[n, m] = R[m, n] + b[m]
/// Backward: R = dtop rearranged to M × N·HW, db += row sums of R,
///   dW_g += R_g · col_gᵀ,  dcol_g = W_gᵀ · R_g, col2im into each dbottom.
/// One large GEMM runs OpenBLAS near its peak where per-image products are
/// too narrow. A 1×1 kernel with stride 1 and no pad needs no im2col: its
/// columns are the image itself, one GEMM per image. Forward, when the batch
/// has an image for every thread and the columns are small (1×1, or up to
/// imageColumnBytes), each thread takes whole images from columns to
/// epilogue. A 3×3 kernel with stride 1 runs forward by Winograd's F(4×4,
/// 3×3) (WinogradF43), a quarter of the multiplies, and an input of at most
/// four channels (a first layer), or rows of at most 8 outputs from up to 32
/// channels, by direct summation (DirectConvolution);
/// their backward is the GEMM one. Two spatial axes.
final class ConvolutionLayer: ConvolutionFamilyLayer {
    private var isPointwise = false
    /// Set at reshape for 3×3 stride-1 convolutions: forward by Winograd F(4×4, 3×3).
    private var winograd: WinogradF43?
    var usesWinograd: Bool { winograd != nil }
    /// Set at reshape when the input has few channels (a first layer), or
    /// small maps and up to 32: forward by direct summation (DirectConvolution).
    private var direct: DirectConvolution?
    var usesDirect: Bool { direct != nil }
    /// Set by the net for one fused inference forward (InferenceFusion): the
    /// per-channel affine map and ReLU of the layers folded into this one,
    /// and where the result goes (the top, or its channels of a Concat's top).

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let r = try resolve2D(bottoms, tops)
        let top = tops[0].shape
        conv = ConvGeometry2D(r, channels: r.channels, height: r.spatialIn[0], width: r.spatialIn[1],
                              outH: top[r.axis + 1], outW: top[r.axis + 2])
        isPointwise = r.kernel == [1, 1] && r.stride == [1, 1] && r.pad == [0, 0]
        winograd = WinogradF43.suits(conv, group: geometry.group, outputs: geometry.numOutput, images: r.outer)
            ? WinogradF43(conv: conv, group: geometry.group, outputs: geometry.numOutput) : nil
        direct = !isPointwise && winograd == nil && DirectConvolution.suits(conv, group: geometry.group)
            ? DirectConvolution(conv: conv, outputs: geometry.numOutput) : nil
    }

    /// (outputs per group, column rows per group, output positions per image).
    private var sizes: (m: Int, k: Int, hw: Int) {
        (geometry.numOutput / geometry.group, conv.colRows / geometry.group, conv.colCols)
    }

    private var imageSize: Int { conv.channels * conv.height * conv.width }

    /// Images [first, first + images) side by side: row r holds image n at [n·HW, (n+1)·HW).
    private func columns(_ b: Blob, first: Int, images: Int) -> UnsafeMutablePointer<Float> {
        let width = images * conv.colCols
        let col = workspace.buffer(0, count: conv.colRows * width)
        // Each image fills its own columns, in pieces spread over the threads.
        let (geometry, size, cols, jobs) = (conv, imageSize, conv.colCols, conv.im2colJobs)
        let (src, dst) = (SharedPointer(b.data + first * imageSize), SharedPointer(col))
        Parallel.forEach(images * jobs) { i in
            let image = i / jobs
            geometry.im2col(src.advanced(by: image * size), dst.advanced(by: image * cols), ld: width, job: i % jobs)
        }
        return col
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws { try forward(bottoms, tops, epilogue: nil) }

    /// A fused inference forward (InferenceFusion): the per-channel layers
    /// after this one, or the Concat it feeds, applied as the output is written.
    override func forward(_ bottoms: [Blob], _ tops: [Blob], absorbing work: AbsorbedWork) throws {
        guard case .epilogue(let e) = work else { preconditionFailure("a convolution absorbs an epilogue") }
        try forward(bottoms, tops, epilogue: e)
    }

    private func forward(_ bottoms: [Blob], _ tops: [Blob], epilogue: ConvEpilogue?) throws {
        let (m, k, hw) = sizes
        let outputs = geometry.numOutput
        let bias = geometry.biasTerm ? SharedPointer(params[1].data) : nil
        // Without an epilogue: y = R + b. With one: y = relu(R·a + c), where c folds in the bias.
        let map: ConvEpilogue.Resolved = epilogue?.resolve(bias: bias, outputs: outputs)
            ?? ConvEpilogue.Resolved(scale: nil, shift: bias.map { b in (0..<outputs).map { b[$0] } }, slope: nil)
        for (b, t) in zip(bottoms, tops) {
            // Where image n's channel o starts: y + n·stride + o·hw.
            let (y, stride) = epilogue?.destination.map { ($0.blob.data + $0.channelOffset * hw, $0.blob.count / max(outer, 1)) }
                ?? (t.data, outputs * hw)
            if isPointwise {
                // Whole images per thread when there are enough of them: one
                // split product per image runs narrow halves (SqueezeNet's
                // conv10 at batch 10: 13x13 maps, 12 ms against 9).
                if outer >= Parallel.threads {
                    let (x, weights, out, size, shape) = (SharedPointer(b.data), SharedPointer(params[0].data), SharedPointer(y),
                                                         imageSize, productShape)
                    Parallel.forEach(outer) { n in
                        Self.imageForward(shape, weights: weights.base, columns: x.advanced(by: n * size), y: out.advanced(by: n * stride), map: map)
                    }
                    continue
                }
                // Fewer images than threads: each product split across them.
                for image in 0..<outer {
                    for g in 0..<geometry.group {
                        BLAS.gemm(m: m, n: hw, k: k, a: params[0].data + g * m * k, b: b.data + image * imageSize + g * k * hw,
                                  c: y + image * stride + g * m * hw)
                    }
                }
                if map.isIdentity { continue }
                let out = SharedPointer(y)
                Parallel.forEach(outer * outputs) { i in
                    let row = out.advanced(by: (i / outputs) * stride + (i % outputs) * hw)
                    map.apply(channel: i % outputs, from: row, to: row, count: hw)
                }
                continue
            }
            if let direct {
                direct.forward(x: b.data, images: outer, weights: params[0].data, map: map, y: y, yStride: stride, workspace: workspace)
                continue
            }
            if let winograd {
                winograd.forward(x: b.data, images: outer, weights: params[0].data, map: map, y: y, yStride: stride, workspace: workspace)
                continue
            }
            if outer >= Parallel.threads && conv.colRows * hw * 4 <= Self.imageColumnBytes {
                // Small images: each thread takes whole images through
                // im2col, the product and the epilogue, its columns still in
                // its core's cache (LeNet's conv2 at batch 10: 128 KB each).
                // One column matrix per task, reused for its images: it
                // stays in the core's cache (one per image made every
                // image's columns a write to memory).
                let tasks = min(Parallel.threads, outer), per = (outer + tasks - 1) / tasks
                let col = SharedPointer(workspace.buffer(0, count: tasks * conv.colRows * hw))
                let (geometry, size, rows, jobs, shape, images) = (conv, imageSize, conv.colRows, conv.im2colJobs, productShape, outer)
                let (x, weights, out) = (SharedPointer(b.data), SharedPointer(params[0].data), SharedPointer(y))
                Parallel.forEach(tasks) { task in
                    let c = col.advanced(by: task * rows * hw)
                    for n in task * per..<min(images, task * per + per) {
                        for job in 0..<jobs { geometry.im2col(x.advanced(by: n * size), c, ld: hw, job: job) }
                        Self.imageForward(shape, weights: weights.base, columns: c, y: out.advanced(by: n * stride), map: map)
                    }
                }
                continue
            }
            // Images in chunks whose column matrix stays in cache.
            let per = max(1, min(outer, Self.chunkBytes / max(1, conv.colRows * hw * 4)))
            var first = 0
            while first < outer {
                let images = min(per, outer - first)
                let width = images * hw
                let col = columns(b, first: first, images: images)
                let result = workspace.buffer(1, count: geometry.numOutput * width)
                for g in 0..<geometry.group {
                    BLAS.gemm(m: m, n: width, k: k, a: params[0].data + g * m * k, b: col + g * k * width, c: result + g * m * width)
                }
                // R is M × (images·HW); the top is N × M × HW.
                let r = SharedPointer(result), out = SharedPointer(y + first * stride)
                Parallel.forEach(images * outputs) { i in
                    let (n, o) = (i / outputs, i % outputs)
                    map.apply(channel: o, from: r.advanced(by: o * width + n * hw), to: out.advanced(by: n * stride + o * hw), count: hw)
                }
                first += images
            }
        }
    }

    /// One image's product: (outputs per group, column rows per group,
    /// positions, groups, outputs).
    private struct ProductShape: Sendable { let m, k, hw, group, outputs: Int }
    private var productShape: ProductShape {
        let (m, k, hw) = sizes
        return ProductShape(m: m, k: k, hw: hw, group: geometry.group, outputs: geometry.numOutput)
    }

    /// One image on the calling thread: y_g = W_g · columns_g written into
    /// the image's place in the top, then the bias or fused epilogue applied
    /// there while it is still in this core's cache.
    private static func imageForward(_ s: ProductShape, weights: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>,
                                     y: UnsafeMutablePointer<Float>, map: ConvEpilogue.Resolved) {
        for g in 0..<s.group {
            BLAS.gemmOnThisThread(m: s.m, n: s.hw, k: s.k, a: weights + g * s.m * s.k, b: columns + g * s.k * s.hw,
                                  c: y + g * s.m * s.hw, lda: s.k, ldb: s.hw, ldc: s.hw)
        }
        if map.isIdentity { return }
        for o in 0..<s.outputs { map.apply(channel: o, from: y + o * s.hw, to: y + o * s.hw, count: s.hw) }
    }

    /// Bytes of column matrix per chunk of images: small enough to stay in
    /// cache between im2col and the GEMM (the whole batch's columns made
    /// every convolution memory-bound).
    static let chunkBytes = 4 << 20

    /// Column matrices up to this size are made and used by one thread per
    /// image (half of these machines' 1 MiB L2 per core).
    static let imageColumnBytes = 512 << 10

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let (m, k, hw) = sizes
        let topSize = geometry.numOutput * hw
        for (i, (b, t)) in zip(bottoms, tops).enumerated() {
            if isPointwise {
                if geometry.biasTerm { biasGradient(t.diff, images: outer, ld: hw) }
                for image in 0..<outer {
                    for g in 0..<geometry.group {
                        BLAS.gemm(transB: true, m: m, n: k, k: hw, a: t.diff + image * topSize + g * m * hw,
                                  b: b.data + image * imageSize + g * k * hw, beta: 1, c: params[0].diff + g * m * k)
                        if propagateDown[i] {
                            BLAS.gemm(transA: true, m: k, n: hw, k: m, a: params[0].data + g * m * k, b: t.diff + image * topSize + g * m * hw,
                                      c: b.diff + image * imageSize + g * k * hw)
                        }
                    }
                }
                continue
            }
            // Chunks of images whose columns stay in cache, as in forward.
            let per = max(1, min(outer, Self.chunkBytes / max(1, conv.colRows * hw * 4)))
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
                let col = columns(b, first: first, images: images)
                for g in 0..<geometry.group {
                    BLAS.gemm(transB: true, m: m, n: k, k: width, a: result + g * m * width, b: col + g * k * width, beta: 1,
                              c: params[0].diff + g * m * k)
                }
                if propagateDown[i] {
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
