/// Convolution as im2col + GEMM over chunks of images: the column matrices
/// of a chunk side by side (K × images·HW). With NarrowGEMM each image's
/// product goes straight into its place in the top, the bias or epilogue
/// applied as it is stored. Through OpenBLAS, one product per group over
/// the whole chunk (one large GEMM runs it near its peak where per-image
/// products are too narrow), then the epilogue as the result is copied into
/// the top. A chunk's columns stay in cache between im2col and the GEMM
/// (the whole batch's columns made every convolution memory-bound).
struct ColumnConvolution: GEMMConvolutionEngine {
    let conv: ConvGeometry2D
    let shape: ConvProductShape

    /// Bytes of column matrix per chunk of images.
    static let chunkBytes = 4 << 20

    /// Images per chunk for this geometry.
    static func imagesPerChunk(_ conv: ConvGeometry2D, images: Int) -> Int {
        max(1, min(images, chunkBytes / max(1, conv.colRows * conv.colCols * 4)))
    }

    /// The columns of images [first, first + images) side by side in
    /// workspace slot 0: row r holds image n at [n·HW, (n+1)·HW), rows
    /// `rowLength` apart (default images·HW; the rest of a row is not written).
    static func columns(_ conv: ConvGeometry2D, of x: UnsafePointer<Float>, first: Int, images: Int, rowLength: Int? = nil,
                        workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let width = rowLength ?? images * conv.colCols
        let col = workspace.buffer(0, count: conv.colRows * width)
        // Each image fills its own columns, in pieces spread over the threads.
        let size = conv.channels * conv.height * conv.width
        let (cols, jobs) = (conv.colCols, conv.im2colJobs)
        let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: x) + first * size), SharedPointer(col))
        Parallel.forEach(images * jobs) { i in
            let image = i / jobs
            conv.im2col(src.advanced(by: image * size), dst.advanced(by: image * cols), ld: width, job: i % jobs)
        }
        return col
    }

    func forward(x: UnsafePointer<Float>, images total: Int, weights: NarrowGEMM.LeftMatrix, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride stride: Int, workspace: Workspace) {
        let (m, k, hw, outputs) = (shape.m, shape.k, shape.hw, shape.outputs)
        let per = Self.imagesPerChunk(conv, images: total)
        var first = 0
        while first < total {
            let images = min(per, total - first)
            let width = images * hw
            if NarrowGEMM.available {
                // Each image's product straight into its place in the top, the map applied as it is stored.
                let ldb = NarrowGEMM.alignedRowLength(width)
                let col = Self.columns(conv, of: x, first: first, images: images, rowLength: ldb, workspace: workspace)
                map.withKernelArguments(outputs: outputs) { e in
                    for n in 0..<images {
                        shape.product(weights: weights, columns: col + n * hw, ldb: ldb,
                                      y: y + (first + n) * stride, map: e, onThisThread: false)
                    }
                }
                first += images
                continue
            }
            let col = Self.columns(conv, of: x, first: first, images: images, workspace: workspace)
            let result = workspace.buffer(1, count: outputs * width)
            for g in 0..<shape.group {
                BLAS.gemm(m: m, n: width, k: k, a: weights.floats + g * m * k, b: col + g * k * width, c: result + g * m * width)
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
