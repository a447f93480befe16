/// Convolution by im2col + GEMM, per image and group, as Caffe does:
///   top[n, g] = W_g · col(bottom[n], g) + b
/// Backward: dW_g += dtop[n, g] · col^T, db += Σ dtop, dcol = W_g^T · dtop[n, g]
/// then col2im into dbottom. A 1×1 kernel with stride 1 and no pad uses the
/// image itself as the column matrix. Two spatial axes are supported.
final class ConvolutionLayer: Layer {
    private let geometry: ConvolutionGeometry
    private var conv = ConvGeometry2D(channels: 0, height: 0, width: 0, kernelH: 0, kernelW: 0, padH: 0, padW: 0,
                                      strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, outH: 0, outW: 0)
    private var outer = 1
    private let col = Blob()
    private var isPointwise = false

    required init(_ ctx: LayerContext) throws {
        geometry = try ConvolutionGeometry(ctx.parameter)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        [try filler("convolution_param", "weight_filler"), try filler("convolution_param", "bias_filler")]
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        let r = try geometry.resolve(bottoms[0].shape)
        guard r.spatialIn.count == 2 else {
            throw fail("the runtime runs 2-D convolutions; this input has \(r.spatialIn.count) spatial axes")
        }
        let top = tops[0].shape
        conv = ConvGeometry2D(channels: r.channels, height: r.spatialIn[0], width: r.spatialIn[1],
                              kernelH: r.kernel[0], kernelW: r.kernel[1], padH: r.pad[0], padW: r.pad[1],
                              strideH: r.stride[0], strideW: r.stride[1], dilationH: r.dilation[0], dilationW: r.dilation[1],
                              outH: top[r.axis + 1], outW: top[r.axis + 2])
        outer = r.outer
        isPointwise = r.kernel == [1, 1] && r.stride == [1, 1] && r.pad == [0, 0]
        if !isPointwise { col.reshape([conv.colRows, conv.colCols]) }
    }

    private var groupSizes: (m: Int, k: Int, spatial: Int) {
        (geometry.numOutput / geometry.group, conv.colRows / geometry.group, conv.colCols)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (m, k, n) = groupSizes
        let inputSize = conv.channels * conv.height * conv.width, outputSize = geometry.numOutput * n
        for (b, t) in zip(bottoms, tops) {
            for image in 0..<outer {
                let columns = columns(for: b.data + image * inputSize)
                let out = t.data + image * outputSize
                for g in 0..<geometry.group {
                    BLAS.gemm(m: m, n: n, k: k, a: params[0].data + g * m * k, b: columns + g * k * n, c: out + g * m * n)
                }
                if geometry.biasTerm {
                    let bias = params[1].data
                    for o in 0..<geometry.numOutput {
                        let row = out + o * n, v = bias[o]
                        for j in 0..<n { row[j] += v }
                    }
                }
            }
        }
    }

    /// The column matrix of one image (the image itself for a pointwise kernel).
    private func columns(for image: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        if isPointwise { return image }
        conv.im2col(image, col.data)
        return col.data
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let (m, k, n) = groupSizes
        let inputSize = conv.channels * conv.height * conv.width, outputSize = geometry.numOutput * n
        for (i, (b, t)) in zip(bottoms, tops).enumerated() {
            for image in 0..<outer {
                let dtop = t.diff + image * outputSize
                if geometry.biasTerm {
                    let db = params[1].diff
                    for o in 0..<geometry.numOutput {
                        var s: Float = 0
                        let row = dtop + o * n
                        for j in 0..<n { s += row[j] }
                        db[o] += s
                    }
                }
                let columns = columns(for: b.data + image * inputSize)
                for g in 0..<geometry.group {
                    BLAS.gemm(transB: true, m: m, n: k, k: n, a: dtop + g * m * n, b: columns + g * k * n, beta: 1,
                              c: params[0].diff + g * m * k)
                }
                guard propagateDown[i] else { continue }
                let dcol = isPointwise ? b.diff + image * inputSize : col.diff
                for g in 0..<geometry.group {
                    BLAS.gemm(transA: true, m: k, n: n, k: m, a: params[0].data + g * m * k, b: dtop + g * m * n,
                              c: dcol + g * k * n)
                }
                if !isPointwise { conv.col2im(col.diff, b.diff + image * inputSize) }
            }
        }
    }
}
