/// Deconvolution (transposed convolution): output stride·(in−1) + dilation·(k−1)+1 − 2·pad.
/// Weights channels × (num_output/group) × kernel.
struct DeconvolutionPlan: ConvolutionFamilyPlan {
    static let type = "Deconvolution"
    let g: ConvolutionGeometry

    init(geometry: ConvolutionGeometry) { g = geometry }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        try g.plan(bottoms, transposed: true) { r, i, extent in
            let o = r.stride[i] * (r.spatialIn[i] - 1) + extent - 2 * r.pad[i]
            guard o > 0 else { throw PlanError("output size \(o) ≤ 0 on spatial axis \(i): pad is too large", at: g.param.location(of: .pad)) }
            return o
        }
    }
}

/// Deconvolution (transposed convolution): the convolution's data gradient
/// used as a forward pass. Per image and group:
///   col = W_gᵀ · bottom_g, then col2im into the top (+ bias);
/// backward: dW_g += bottom_g · col(dtop)_gᵀ, dbottom_g = W_g · col(dtop)_g.
/// Weights are channels × (num_output/group) × kernel.
final class DeconvolutionLayer: ConvolutionFamilyLayer {
    private var inputChannels = 0

    /// The column matrix lives in the net's shared workspace.
    private var col: UnsafeMutablePointer<Float> { workspace.buffer(0, count: conv.colRows * conv.colCols) }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let r = try resolve2D(bottoms, tops)
        let top = tops[0].shape
        // The convolution this one transposes maps the top (as its image) to the bottom.
        conv = ConvGeometry2D(r, channels: geometry.numOutput, height: top[r.axis + 1], width: top[r.axis + 2],
                              outH: r.spatialIn[0], outW: r.spatialIn[1])
        inputChannels = r.channels
    }

    /// (input channels per group, col rows per group, input positions).
    private var sizes: (c: Int, k: Int, n: Int) { (inputChannels / geometry.group, conv.colRows / geometry.group, conv.colCols) }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (c, k, n) = sizes
        let topSize = geometry.numOutput * conv.height * conv.width, bottomSize = inputChannels * n
        for (b, t) in zip(bottoms, tops) {
            for image in 0..<outer {
                for g in 0..<geometry.group {
                    BLAS.gemm(transA: true, m: k, n: n, k: c, a: params[0].data + g * c * k, b: b.data + image * bottomSize + g * c * n,
                              c: col + g * k * n)
                }
                let out = t.data + image * topSize
                conv.col2im(col, out)
                if geometry.biasTerm {
                    let plane = conv.height * conv.width
                    for o in 0..<geometry.numOutput {
                        let v = params[1].data[o], row = out + o * plane
                        for j in 0..<plane { row[j] += v }
                    }
                }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let (c, k, n) = sizes
        let topSize = geometry.numOutput * conv.height * conv.width, bottomSize = inputChannels * n
        for (i, (b, t)) in zip(bottoms, tops).enumerated() {
            for image in 0..<outer {
                let dtop = t.diff + image * topSize
                if geometry.biasTerm {
                    let plane = conv.height * conv.width
                    for o in 0..<geometry.numOutput {
                        var s: Float = 0
                        for j in 0..<plane { s += dtop[o * plane + j] }
                        params[1].diff[o] += s
                    }
                }
                conv.im2col(dtop, col)
                for g in 0..<geometry.group {
                    BLAS.gemm(transB: true, m: c, n: k, k: n, a: b.data + image * bottomSize + g * c * n, b: col + g * k * n,
                              beta: 1, c: params[0].diff + g * c * k)
                    if propagateDown[i] {
                        BLAS.gemm(m: c, n: n, k: k, a: params[0].data + g * c * k, b: col + g * k * n,
                                  c: b.diff + image * bottomSize + g * c * n)
                    }
                }
            }
        }
    }
}
