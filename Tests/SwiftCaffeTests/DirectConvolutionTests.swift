import Foundation
import XCTest
@testable import SwiftCaffe

/// The direct forward of convolutions with few input channels (a net's
/// first layer) against the convolution's definition summed in double
/// precision: strides 1 and 2 along rows and up to 3 down columns, pads,
/// dilation, rectangular kernels, output rows that end in a partial block
/// of 16, rows of at most 8 taken two to a vector (with an odd row count),
/// output channel counts that leave a partial block of 16 or of 8,
/// a fused epilogue, and an output written among other channels (a Concat).
final class DirectConvolutionTests: XCTestCase {
    struct Case {
        var shape: [Int]  // N, C, H, W
        var outputs: Int
        var kernel: (h: Int, w: Int)
        var stride: (h: Int, w: Int) = (1, 1)
        var pad: (h: Int, w: Int) = (0, 0)
        var dilation: (h: Int, w: Int) = (1, 1)
    }

    /// top[n][k][y][x] = b[k] + Σ_c Σ_ij w[k][c][i][j] · x[n][c][y·s − p + i·d][x·s − p + j·d], zero outside.
    static func definition(_ x: [Float], _ c: Case, _ w: [Float], _ b: [Float], outH: Int, outW: Int) -> [Float] {
        let (images, channels, h, wd) = (c.shape[0], c.shape[1], c.shape[2], c.shape[3])
        var y = [Float](repeating: 0, count: images * c.outputs * outH * outW)
        for n in 0..<images {
            for k in 0..<c.outputs {
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        var s = Double(b[k])
                        for ch in 0..<channels {
                            for i in 0..<c.kernel.h {
                                let iy = oy * c.stride.h - c.pad.h + i * c.dilation.h
                                if iy < 0 || iy >= h { continue }
                                for j in 0..<c.kernel.w {
                                    let ix = ox * c.stride.w - c.pad.w + j * c.dilation.w
                                    if ix < 0 || ix >= wd { continue }
                                    s += Double(w[((k * channels + ch) * c.kernel.h + i) * c.kernel.w + j])
                                        * Double(x[((n * channels + ch) * h + iy) * wd + ix])
                                }
                            }
                        }
                        y[((n * c.outputs + k) * outH + oy) * outW + ox] = Float(s)
                    }
                }
            }
        }
        return y
    }

    static func convolution(_ c: Case) throws -> Net {
        try Net(graph: try buildNet(net(input: c.shape, """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: \(c.outputs) kernel_h: \(c.kernel.h) kernel_w: \(c.kernel.w)
                stride_h: \(c.stride.h) stride_w: \(c.stride.w) pad_h: \(c.pad.h) pad_w: \(c.pad.w)
                dilation: \(c.dilation.h) dilation: \(c.dilation.w) } }
            """)))
    }

    /// The layer's forward with random inputs, weights and bias, and its
    /// error against the definition (as `error`).
    static func layerError(_ c: Case, random: inout RandomSource) throws -> (layer: ConvolutionLayer, error: Float) {
        let n = try convolution(c)
        let layer = try XCTUnwrap(n.layers[1] as? ConvolutionLayer)
        let x = (0..<n.blob("data")!.count).map { _ in random.gaussian() }
        let w = (0..<layer.params[0].count).map { _ in random.gaussian() * 0.2 }
        let b = (0..<c.outputs).map { _ in random.gaussian() }
        n.blob("data")!.set(x)
        layer.params[0].set(w)
        layer.params[1].set(b)
        try n.forward()
        let top = n.blob("c")!
        return (layer, error(top.values, definition(x, c, w, b, outH: top.dim(2), outW: top.dim(3))))
    }

    /// Largest |ours − definition| over the largest |definition|: about 1e-7
    /// measured; an indexing slip gives 0.1 or more.
    static func error(_ ours: [Float], _ expected: [Float]) -> Float {
        let scale = expected.map(abs).max() ?? 1
        return zip(ours, expected).map { abs($0 - $1) }.max()! / scale
    }

    let cases: [Case] = [
        // GoogLeNet's and ResNet's conv1 (7×7/2, pad 3) on a small image: 18 × 19 outputs.
        Case(shape: [2, 3, 35, 37], outputs: 64, kernel: (7, 7), stride: (2, 2), pad: (3, 3)),
        // SqueezeNet's conv1 (3×3/2): 20 channels, a block of 16 and one of 8 with 4 used.
        Case(shape: [1, 3, 29, 40], outputs: 20, kernel: (3, 3), stride: (2, 2)),
        // LeNet's conv1 on grey digits: 24 outputs per row, a full block and 8.
        Case(shape: [3, 1, 28, 28], outputs: 20, kernel: (5, 5)),
        // Rectangular kernel, vertical stride 3, pads, dilation 2 and 4 channels.
        Case(shape: [1, 4, 17, 50], outputs: 5, kernel: (3, 5), stride: (3, 1), pad: (1, 2), dilation: (2, 2)),
        // 33 channels: two blocks of 16 and one of 8 with a single one used; 35 outputs per row.
        Case(shape: [1, 2, 9, 70], outputs: 33, kernel: (3, 3), stride: (1, 2), pad: (1, 1)),
        // A pad wider than the kernel's reach, and a one-pixel output row.
        Case(shape: [1, 3, 5, 2], outputs: 16, kernel: (2, 2), stride: (2, 2), pad: (3, 3)),
        // Rows of at most 8 outputs, two to a vector. LeNet's conv2 (8 × 8 outputs):
        Case(shape: [3, 20, 12, 12], outputs: 50, kernel: (5, 5)),
        // an odd number of rows (the last pair has one), a pad, vertical stride 2, dilation;
        Case(shape: [1, 7, 13, 7], outputs: 9, kernel: (3, 3), stride: (2, 1), pad: (1, 2), dilation: (1, 2)),
        // rows of 5 with 32 channels.
        Case(shape: [2, 32, 7, 7], outputs: 24, kernel: (3, 3)),
    ]

    /// The kernel on its own, with an epilogue y = leaky-relu(conv·a + c)
    /// written into channels [2, 2 + K) of a larger output, the other
    /// channels left as they were.
    func testMatchesTheDefinition() throws {
        var random = RandomSource(seed: 11)
        for c in cases {
            let n = try Self.convolution(c)
            let layer = try XCTUnwrap(n.layers[1] as? ConvolutionLayer)
            XCTAssertTrue(layer.usesDirect, "\(c)")
            let top = n.blob("c")!
            let (outH, outW) = (top.dim(2), top.dim(3))
            let x = (0..<n.blob("data")!.count).map { _ in random.gaussian() }
            let w = (0..<layer.params[0].count).map { _ in random.gaussian() * 0.2 }
            let scale = (0..<c.outputs).map { _ in random.gaussian() }
            let shift = (0..<c.outputs).map { _ in random.gaussian() }
            let slope: Float = 0.1
            layer.params[0].set(w)
            n.blob("data")!.set(x)

            let plane = outH * outW, images = c.shape[0], channelsOut = c.outputs + 3
            let sentinel: Float = -1234.5
            var y = [Float](repeating: sentinel, count: images * channelsOut * plane)
            let direct = DirectConvolution(conv: layer.conv, outputs: c.outputs)
            y.withUnsafeMutableBufferPointer { out in
                direct.forward(x: n.blob("data")!.data, images: images, weights: layer.params[0].data,
                               map: .init(scale: scale, shift: shift, slope: slope), y: out.baseAddress! + 2 * plane,
                               yStride: channelsOut * plane, workspace: Workspace())
            }
            let plain = Self.definition(x, c, w, [Float](repeating: 0, count: c.outputs), outH: outH, outW: outW)
            var ours: [Float] = [], expected: [Float] = []
            for image in 0..<images {
                for k in 0..<channelsOut {
                    let row = Array(y[(image * channelsOut + k) * plane..<(image * channelsOut + k + 1) * plane])
                    if k < 2 || k >= 2 + c.outputs {
                        XCTAssertEqual(row, [Float](repeating: sentinel, count: plane), "\(c): channel \(k) written")
                        continue
                    }
                    ours += row
                    let o = k - 2
                    expected += plain[(image * c.outputs + o) * plane..<(image * c.outputs + o + 1) * plane].map { v in
                        let u = v * scale[o] + shift[o]
                        return u > 0 ? u : u * slope
                    }
                }
            }
            XCTAssertLessThan(Self.error(ours, expected), 1e-5, "\(c)")
        }
    }

    /// The layer takes this path for few input channels, with the bias, and
    /// gives the definition's answer; elsewhere it keeps im2col + GEMM.
    func testTheLayerChoosesTheDirectPathForFewChannels() throws {
        var random = RandomSource(seed: 12)
        for c in cases {
            let (layer, error) = try Self.layerError(c, random: &random)
            XCTAssertTrue(layer.usesDirect, "\(c)")
            XCTAssertLessThan(error, 1e-5, "\(c)")
        }
        // More channels on rows over 8, more than 32 on small rows, a
        // stride of 4 along rows (AlexNet's conv1), groups: not this path.
        for (shape, params) in [([1, 8, 20, 20], "kernel_size: 3"), ([1, 33, 8, 8], "kernel_size: 3"),
                                ([1, 3, 40, 40], "kernel_size: 11 stride: 4"), ([1, 4, 20, 20], "kernel_size: 3 group: 2")] {
            let n = try Net(graph: try buildNet(net(input: shape, """
                layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 8 \(params) } }
                """)))
            XCTAssertFalse(try XCTUnwrap(n.layers[1] as? ConvolutionLayer).usesDirect, "\(shape) \(params)")
        }
    }
}
