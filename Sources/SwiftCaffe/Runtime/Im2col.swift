/// Caffe's im2col/col2im for 2-D convolution with pad, stride and dilation.
/// The column buffer is (channels·kh·kw) × (outH·outW), row-major, so that a
/// convolution is one GEMM with the (num_output × channels·kh·kw) weights.
struct ConvGeometry2D {
    var channels, height, width: Int
    var kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW: Int
    var outH, outW: Int

    var colRows: Int { channels * kernelH * kernelW }
    var colCols: Int { outH * outW }

    /// Fills `col` (rows `ld` apart) from one image; rows are split across threads by channel.
    func im2col(_ image: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let img = SharedPointer(UnsafeMutablePointer(mutating: image)), out = SharedPointer(col)
        let g = self, ld = ld ?? colCols
        Parallel.forEach(channels) { c in
            var row = c * g.kernelH * g.kernelW
            let plane = img.advanced(by: c * g.height * g.width)
            for kh in 0..<g.kernelH {
                for kw in 0..<g.kernelW {
                    let dst = out.advanced(by: row * ld)
                    var k = 0
                    for oh in 0..<g.outH {
                        let ih = oh * g.strideH - g.padH + kh * g.dilationH
                        if ih < 0 || ih >= g.height {
                            for _ in 0..<g.outW { dst[k] = 0; k += 1 }
                            continue
                        }
                        let src = plane + ih * g.width
                        var iw = -g.padW + kw * g.dilationW
                        for _ in 0..<g.outW {
                            dst[k] = (iw >= 0 && iw < g.width) ? src[iw] : 0
                            k += 1
                            iw += g.strideW
                        }
                    }
                    row += 1
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
            var row = c * g.kernelH * g.kernelW
            for kh in 0..<g.kernelH {
                for kw in 0..<g.kernelW {
                    let s = src.advanced(by: row * ld)
                    var k = 0
                    for oh in 0..<g.outH {
                        let ih = oh * g.strideH - g.padH + kh * g.dilationH
                        if ih < 0 || ih >= g.height { k += g.outW; continue }
                        let dst = plane + ih * g.width
                        var iw = -g.padW + kw * g.dilationW
                        for _ in 0..<g.outW {
                            if iw >= 0 && iw < g.width { dst[iw] += s[k] }
                            k += 1
                            iw += g.strideW
                        }
                    }
                    row += 1
                }
            }
        }
    }
}
