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

    /// Fills `col` (rows `ld` apart) from one image; rows are split across threads by channel.
    func im2col(_ image: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let img = SharedPointer(UnsafeMutablePointer(mutating: image)), out = SharedPointer(col)
        let g = self, ld = ld ?? colCols
        Parallel.forEach(channels * kernelH) { job in
            let (c, kh) = (job / g.kernelH, job % g.kernelH)
            let plane = img.advanced(by: c * g.height * g.width)
            for kw in 0..<g.kernelW {
                let row = (c * g.kernelH + kh) * g.kernelW + kw
                let dst = out.advanced(by: row * ld)
                let (lo, hi) = g.validColumns(kw)
                let offset = kw * g.dilationW - g.padW
                for oh in 0..<g.outH {
                    let d = dst + oh * g.outW
                    let ih = oh * g.strideH - g.padH + kh * g.dilationH
                    if ih < 0 || ih >= g.height {
                        d.update(repeating: 0, count: g.outW)
                        continue
                    }
                    if lo > 0 { d.update(repeating: 0, count: lo) }
                    if hi < g.outW { (d + hi).update(repeating: 0, count: g.outW - hi) }
                    guard lo < hi else { continue }
                    let src = plane + ih * g.width + offset
                    if g.strideW == 1 {
                        // Rows are short (13–55 values in AlexNet): a loop, not a memcpy call.
                        for ow in lo..<hi { d[ow] = src[ow] }
                    } else {
                        let s = g.strideW
                        for ow in lo..<hi { d[ow] = src[ow &* s] }
                    }
                }
            }
        }
    }

    /// Adds `col` (rows `ld` apart) back into one image's gradient (the image is zeroed first).
    func col2im(_ col: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let img = SharedPointer(image), src = SharedPointer(UnsafeMutablePointer(mutating: col))
        let g = self, ld = ld ?? colCols
        Parallel.forEach(channels) { c in
            let plane = img.advanced(by: c * g.height * g.width)
            plane.update(repeating: 0, count: g.height * g.width)
            for kh in 0..<g.kernelH {
                for kw in 0..<g.kernelW {
                    let row = (c * g.kernelH + kh) * g.kernelW + kw
                    let s = src.advanced(by: row * ld)
                    let (lo, hi) = g.validColumns(kw)
                    guard lo < hi else { continue }
                    let offset = kw * g.dilationW - g.padW
                    for oh in 0..<g.outH {
                        let ih = oh * g.strideH - g.padH + kh * g.dilationH
                        if ih < 0 || ih >= g.height { continue }
                        let dst = plane + ih * g.width + offset
                        let from = s + oh * g.outW
                        let stride = g.strideW
                        for ow in lo..<hi { dst[ow &* stride] += from[ow] }
                    }
                }
            }
        }
    }
}
