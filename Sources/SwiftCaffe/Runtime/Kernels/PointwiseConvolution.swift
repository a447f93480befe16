/// A 1×1 convolution with stride 1 and no pad: its columns are the image
/// itself, so each image is one product W_g · x_g per group, with no im2col.
struct PointwiseConvolution: GEMMConvolutionEngine {
    let shape: ConvProductShape
    let imageSize: Int

    init(conv: ConvGeometry2D, group: Int, outputs: Int) {
        shape = ConvProductShape(conv, group: group, outputs: outputs)
        imageSize = conv.channels * conv.height * conv.width
    }

    func forward(x: UnsafePointer<Float>, images: Int, weights: NarrowGEMM.LeftMatrix, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride stride: Int, workspace: Workspace) {
        let (shape, size) = (shape, imageSize)
        let (m, k, hw) = (shape.m, shape.k, shape.hw)
        // Whole images per thread when there are enough of them: one split
        // product per image runs narrow halves (SqueezeNet's conv10 at batch
        // 10: 13x13 maps, 12 ms against 9).
        if images >= Parallel.threads {
            let (input, out) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(y))
            Parallel.forEach(images) { n in
                shape.imageForward(weights: weights, columns: input.advanced(by: n * size), y: out.advanced(by: n * stride), map: map)
            }
            return
        }
        // Fewer images than threads: each product split across them. Rows
        // of the image that do not start on 64-byte lines (13×13, 7×7 maps)
        // are first copied into rows that do, so that no vector load splits
        // two lines (SqueezeNet's conv10, 1000 × 169 × 512, one thread: 0.62
        // → 0.56 ms; the copy is k·hw floats against the product's m·k·hw).
        if NarrowGEMM.available {
            let ld = NarrowGEMM.alignedRowLength(hw), rows = shape.group * k
            let padded = ld == hw ? nil : SharedPointer(workspace.buffer(0, count: rows * ld)), ldb = padded == nil ? hw : ld
            return map.withKernelArguments(outputs: shape.outputs) { e in
                for image in 0..<images {
                    var columns = x + image * size
                    if let padded {
                        let src = SharedPointer(UnsafeMutablePointer(mutating: columns))
                        Parallel.forEach(rows, work: rows * hw) { r in
                            padded.advanced(by: r * ld).update(from: src.advanced(by: r * hw), count: hw)
                        }
                        columns = UnsafePointer(padded.base)
                    }
                    shape.product(weights: weights, columns: columns, ldb: ldb, y: y + image * stride, map: e, onThisThread: false)
                }
            }
        }
        let weights = weights.floats
        for image in 0..<images {
            for g in 0..<shape.group {
                BLAS.gemm(m: m, n: hw, k: k, a: weights + g * m * k, b: x + image * size + g * k * hw, c: y + image * stride + g * m * hw)
            }
        }
        if map.isIdentity { return }
        let (out, outputs) = (SharedPointer(y), shape.outputs)
        Parallel.forEach(images * outputs) { i in
            let row = out.advanced(by: (i / outputs) * stride + (i % outputs) * hw)
            map.apply(channel: i % outputs, from: row, to: row, count: hw)
        }
    }
}
