import CKernels
import Foundation

/// Forward of a convolution whose input has few channels (a net's first
/// layer: RGB or grey) by direct summation in registers (direct_conv.c),
/// without a column matrix. There the GEMM's inner dimension C·KH·KW is
/// only 9–147, and im2col writes and the GEMM reads a matrix up to 12 times
/// the size of the image. Also for small maps (rows of at most 8 outputs,
/// two rows to a vector) of up to 32 channels, such as LeNet's conv2, where
/// im2col costs as much as the small GEMM it feeds.
///
/// The result differs from im2col + GEMM by float rounding only (the sums
/// run in another order). SWIFTCAFFE_DIRECT_CONV=0 turns it off.
struct DirectConvolution {
    let conv: ConvGeometry2D
    let outputs: Int

    /// Off when SWIFTCAFFE_DIRECT_CONV=0.
    static let enabled = ProcessInfo.processInfo.environment["SWIFTCAFFE_DIRECT_CONV"] != "0"

    /// Whether this convolution can, and should, run this way: one group,
    /// and either at most `maxChannels` input channels with stride 1 or 2
    /// along the rows (a vector takes 16 neighbouring inputs, or the even
    /// lanes of 32), or rows of at most 8 outputs at stride 1 (two to a
    /// vector) from at most `maxChannelsForSmallMaps`.
    static func suits(_ conv: ConvGeometry2D, group: Int) -> Bool {
        let fewChannels = conv.channels <= maxChannels && (conv.strideW == 1 || conv.strideW == 2)
        let smallMaps = conv.channels <= maxChannelsForSmallMaps && conv.outW <= 8 && conv.strideW == 1
        return enabled && group == 1 && (fewChannels || smallMaps) && conv.outH > 0 && conv.outW > 0
    }

    static let maxChannels = 4
    /// Output rows of at most 8 go two to a vector; with up to this many
    /// input channels the direct sums beat im2col + a GEMM of 64 columns
    /// (8×8 outputs, 50 channels, batch 10: 16 channels 3×3 0.08 ms against
    /// 0.10, 5×5 0.18 against 0.29; 32 channels 0.14 against 0.19, 0.33
    /// against 0.56; LeNet's conv2 0.22 against 0.26).
    static let maxChannelsForSmallMaps = 32

    /// y[n] = conv(x[n]) mapped by `map`, for `images` images; image n's
    /// output starts at y + n·yStride (its channels contiguous planes).
    func forward(x: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace) {
        let geometry = conv, outputs = self.outputs
        let taps = conv.colRows
        let packed = SharedPointer(workspace.buffer(0, count: (outputs + 15) / 16 * 16 * taps))
        sc_direct_conv_pack(weights, Int32(outputs), Int32(taps), packed.base)

        // Rows of outputs per task: about four tasks per thread, an even
        // number so that paired rows stay in one task.
        let blocks = min(conv.outH, max(1, (4 * Parallel.threads + images - 1) / images))
        let rowsPerBlock = ((conv.outH + blocks - 1) / blocks + 1) / 2 * 2
        let rowFloats = Int(sc_direct_conv_row_floats(Int32(conv.width), Int32(conv.padW), Int32(conv.outW), Int32(conv.kernelW),
                                                      Int32(conv.strideW), Int32(conv.dilationW)))
        let sets = sc_direct_conv_pairs_rows(Int32(conv.outW), Int32(conv.strideW)) != 0 ? 2 : 1
        let scratchFloats = sets * conv.channels * conv.kernelH * rowFloats
        let scratch = SharedPointer(workspace.buffer(1, count: images * blocks * scratchFloats))

        let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(y))
        let imageSize = conv.channels * conv.height * conv.width
        map.withKernelArguments(outputs: outputs) { e in
            Parallel.forEach(images * blocks) { task in
                let (n, block) = (task / blocks, task % blocks)
                let lo = block * rowsPerBlock, hi = min(geometry.outH, lo + rowsPerBlock)
                guard lo < hi else { return }
                let g = geometry
                sc_direct_conv_rows(src.advanced(by: n * imageSize), Int32(g.channels), Int32(g.height), Int32(g.width),
                                    packed.base, Int32(outputs), Int32(g.kernelH), Int32(g.kernelW), Int32(g.strideH),
                                    Int32(g.strideW), Int32(g.padH), Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW),
                                    Int32(g.outH), Int32(g.outW), Int32(lo), Int32(hi), e.scale, e.shift, e.relu, e.slope, e.ceiling,
                                    dst.advanced(by: n * yStride), scratch.advanced(by: task * scratchFloats))
            }
        }
    }
}
