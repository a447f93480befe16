import CKernels

/// Caffe's im2col/col2im for 2-D convolution with pad, stride and dilation.
/// The column buffer is (channels·kh·kw) × (outH·outW), row-major, so that a
/// convolution is one GEMM with the (num_output × channels·kh·kw) weights.
struct ConvGeometry2D: Sendable {
    var channels, height, width: Int
    var kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW: Int
    var outH, outW: Int

    var colRows: Int { channels * kernelH * kernelW }

    /// The 2-D geometry of a resolved convolution whose image is
    /// channels × height × width and whose output grid is outH × outW
    /// (for a deconvolution the image is the top and the grid the bottom).
    init(_ r: ConvolutionGeometry.Resolved, channels: Int, height: Int, width: Int, outH: Int, outW: Int) {
        self.init(channels: channels, height: height, width: width, kernelH: r.kernel[0], kernelW: r.kernel[1],
                  padH: r.pad[0], padW: r.pad[1], strideH: r.stride[0], strideW: r.stride[1],
                  dilationH: r.dilation[0], dilationW: r.dilation[1], outH: outH, outW: outW)
    }

    init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, padH: Int, padW: Int, strideH: Int, strideW: Int,
         dilationH: Int, dilationW: Int, outH: Int, outW: Int) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernelH, self.kernelW, self.padH, self.padW) = (kernelH, kernelW, padH, padW)
        (self.strideH, self.strideW, self.dilationH, self.dilationW) = (strideH, strideW, dilationH, dilationW)
        (self.outH, self.outW) = (outH, outW)
    }

    static let empty = ConvGeometry2D(channels: 0, height: 0, width: 0, kernelH: 0, kernelW: 0, padH: 0, padW: 0,
                                      strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, outH: 0, outW: 0)
    var colCols: Int { outH * outW }

    /// The output columns [lo, hi) whose input column ow·stride − pad + kw·dilation is inside the image.
    @inline(__always)
    private func validColumns(_ kw: Int) -> (Int, Int) {
        let offset = kw * dilationW - padW
        // ow·strideW + offset ≥ 0  and  < width
        let lo = offset >= 0 ? 0 : (-offset + strideW - 1) / strideW
        let hi = width - offset <= 0 ? 0 : min(outW, (width - offset + strideW - 1) / strideW)
        return (min(lo, outW), max(min(hi, outW), min(lo, outW)))
    }

    /// The independent pieces of one image's im2col: one per (channel, kernel row).
    var im2colJobs: Int { channels * kernelH }

    /// Fills `col` (rows `ld` apart) from one image, the pieces split across threads.
    func im2col(_ image: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let img = SharedPointer(UnsafeMutablePointer(mutating: image)), out = SharedPointer(col)
        let g = self, ld = ld ?? colCols
        Parallel.forEach(im2colJobs) { job in g.im2col(img.base, out.base, ld: ld, job: job) }
    }

    /// One piece of im2col on the calling thread: the kernelW rows of `col`
    /// that channel job / kernelH, kernel row job % kernelH, fills. Callers
    /// spreading several images over the threads call this directly, so that
    /// no parallel loop runs inside another.
    func im2col(_ image: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int, job: Int) {
        let (c, kh) = (job / kernelH, job % kernelH)
        sc_im2col_piece(image + c * height * width, col + (c * kernelH + kh) * kernelW * ld, ld, Int32(height), Int32(width),
                        Int32(kh), Int32(kernelW), Int32(padH), Int32(padW), Int32(strideH), Int32(strideW),
                        Int32(dilationH), Int32(dilationW), Int32(outH), Int32(outW))
    }

    /// Adds `col` (rows `ld` apart) back into one image's gradient (the image
    /// is zeroed first), channels split across threads.
    func col2im(_ col: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let img = SharedPointer(image), src = SharedPointer(UnsafeMutablePointer(mutating: col))
        let g = self, ld = ld ?? colCols
        Parallel.forEach(channels) { c in g.col2im(src.base, img.base, ld: ld, channel: c) }
    }

    /// One channel of col2im on the calling thread (see im2col(_:_:ld:job:)).
    func col2im(_ col: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>, ld: Int, channel c: Int) {
        let plane = image + c * height * width
        plane.update(repeating: 0, count: height * width)
        for kh in 0..<kernelH {
            for kw in 0..<kernelW {
                let row = (c * kernelH + kh) * kernelW + kw
                let s = col + row * ld
                let (lo, hi) = validColumns(kw)
                guard lo < hi else { continue }
                let offset = kw * dilationW - padW
                for oh in 0..<outH {
                    let ih = oh * strideH - padH + kh * dilationH
                    if ih < 0 || ih >= height { continue }
                    let dst = plane + ih * width + offset
                    let from = s + oh * outW
                    let stride = strideW
                    for ow in lo..<hi { dst[ow &* stride] += from[ow] }
                }
            }
        }
    }
}
