/// Small images with at least one per thread: each thread takes whole images
/// through im2col, the product and the epilogue, its columns still in its
/// core's cache (LeNet's conv2 at batch 10: 128 KB each). One column matrix
/// per task, reused for its images, stays in the core's cache (one per image
/// made every image's columns a write to memory).
struct SmallImageConvolution: GEMMConvolutionEngine {
    let conv: ConvGeometry2D
    let shape: ConvProductShape

    /// Column matrices up to this size are made and used by one thread per
    /// image (half of these machines' 1 MiB L2 per core).
    static let maxColumnBytes = 512 << 10

    func forward(x: UnsafePointer<Float>, images: Int, weights: NarrowGEMM.LeftMatrix, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride stride: Int, workspace: Workspace) {
        let hw = shape.hw, ld = NarrowGEMM.available ? NarrowGEMM.alignedRowLength(hw) : hw
        let tasks = min(Parallel.threads, images), per = (images + tasks - 1) / tasks
        let col = SharedPointer(workspace.buffer(0, count: tasks * conv.colRows * ld))
        let (conv, shape, size, rows, jobs) = (conv, shape, conv.channels * conv.height * conv.width, conv.colRows, conv.im2colJobs)
        let (input, out) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(y))
        Parallel.forEach(tasks) { task in
            let c = col.advanced(by: task * rows * ld)
            for n in task * per..<min(images, task * per + per) {
                for job in 0..<jobs { conv.im2col(input.advanced(by: n * size), c, ld: ld, job: job) }
                shape.imageForward(weights: weights, columns: c, ldb: ld, y: out.advanced(by: n * stride), map: map)
            }
        }
    }
}
