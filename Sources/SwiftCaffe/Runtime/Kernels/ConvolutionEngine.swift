/// One way to compute a convolution's forward pass. ConvolutionLayer picks
/// one at reshape, for its geometry and batch (`ConvolutionEngines.choose`);
/// backward is the im2col + GEMM one for all of them.
protocol ConvolutionEngine {
    /// y[n] = conv(x[n]) mapped by `map`, for `images` images; image n's
    /// output starts at y + n·yStride (its channels contiguous planes).
    func forward(x: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace)
}

/// An engine whose products run through NarrowGEMM, which also reads fp16
/// and bfloat16 weights (`--weights-precision`). The weights may be half
/// width only where `NarrowGEMM.available`; elsewhere these engines call
/// OpenBLAS, with fp32 weights.
protocol GEMMConvolutionEngine: ConvolutionEngine {
    func forward(x: UnsafePointer<Float>, images: Int, weights: NarrowGEMM.LeftMatrix, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace)
}

extension GEMMConvolutionEngine {
    func forward(x: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace) {
        forward(x: x, images: images, weights: NarrowGEMM.LeftMatrix(weights), map: map, y: y, yStride: yStride, workspace: workspace)
    }
}

extension DirectConvolution: ConvolutionEngine {}
extension WinogradF43: ConvolutionEngine {}

/// The sizes of one image's product y_g = W_g · columns_g.
struct ConvProductShape: Sendable {
    /// Outputs per group, column rows per group, output positions per image.
    let m, k, hw: Int
    let group, outputs: Int

    init(_ conv: ConvGeometry2D, group: Int, outputs: Int) {
        (m, k, hw) = (outputs / group, conv.colRows / group, conv.colCols)
        (self.group, self.outputs) = (group, outputs)
    }

    /// One image on the calling thread: the product written into the
    /// image's place in the top, then the bias or fused epilogue applied
    /// there while it is still in this core's cache. The columns' rows are
    /// `ldb` apart (default hw).
    func imageForward(weights: NarrowGEMM.LeftMatrix, columns: UnsafePointer<Float>, ldb: Int? = nil,
                      y: UnsafeMutablePointer<Float>, map: ConvEpilogue.Resolved) {
        let ldb = ldb ?? hw
        if NarrowGEMM.available {
            return map.withKernelArguments(outputs: outputs) { e in
                product(weights: weights, columns: columns, ldb: ldb, y: y, map: e, onThisThread: true)
            }
        }
        let weights = weights.floats
        for g in 0..<group {
            BLAS.gemmOnThisThread(m: m, n: hw, k: k, a: weights + g * m * k, b: columns + g * k * ldb,
                                  c: y + g * m * hw, lda: k, ldb: ldb, ldc: hw)
        }
        if map.isIdentity { return }
        for o in 0..<outputs { map.apply(channel: o, from: y + o * hw, to: y + o * hw, count: hw) }
    }

    /// One image's product by NarrowGEMM, the map applied as it is stored:
    /// columns (group·k rows, ldb apart) to y (outputs × hw).
    func product(weights: NarrowGEMM.LeftMatrix, columns: UnsafePointer<Float>, ldb: Int, y: UnsafeMutablePointer<Float>,
                 map: ConvEpilogue.Resolved.KernelArguments, onThisThread: Bool) {
        for g in 0..<group {
            NarrowGEMM.product(m: m, n: hw, k: k, a: weights.rows(from: g * m, rowLength: k), b: columns + g * k * ldb, ldb: ldb,
                               c: y + g * m * hw, ldc: hw, map: map.channels(from: g * m), onThisThread: onThisThread)
        }
    }
}

enum ConvolutionEngines {
    /// The fastest engine that suits the geometry: a 1×1 kernel with stride 1
    /// and no pad needs no columns (Pointwise); nor does one filter per input
    /// channel (Depthwise); a 3×3 stride-1 kernel runs by
    /// Winograd's F(4×4, 3×3), a quarter of the multiplies; few input
    /// channels (a first layer), or small maps from up to 32 channels, by
    /// direct summation; small images with one per thread take whole images
    /// through columns, product and epilogue (SmallImage); the rest im2col +
    /// one GEMM over chunks of images (Columns).
    static func choose(_ conv: ConvGeometry2D, group: Int, outputs: Int, images: Int) -> any ConvolutionEngine {
        let isPointwise = conv.kernelH == 1 && conv.kernelW == 1 && conv.strideH == 1 && conv.strideW == 1
            && conv.padH == 0 && conv.padW == 0
        if isPointwise { return PointwiseConvolution(conv: conv, group: group, outputs: outputs) }
        if DepthwiseConvolution.suits(conv, group: group, outputs: outputs) { return DepthwiseConvolution(conv: conv, outputs: outputs) }
        if WinogradF43.suits(conv, group: group, outputs: outputs, images: images) {
            return WinogradF43(conv: conv, group: group, outputs: outputs)
        }
        if DirectConvolution.suits(conv, group: group) { return DirectConvolution(conv: conv, outputs: outputs) }
        if images >= Parallel.threads && conv.colRows * conv.colCols * 4 <= SmallImageConvolution.maxColumnBytes {
            return SmallImageConvolution(conv: conv, shape: ConvProductShape(conv, group: group, outputs: outputs))
        }
        return ColumnConvolution(conv: conv, shape: ConvProductShape(conv, group: group, outputs: outputs))
    }
}
