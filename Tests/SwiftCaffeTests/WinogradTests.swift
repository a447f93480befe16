import Foundation
import XCTest
@testable import SwiftCaffe

/// The Winograd F(4×4, 3×3) forward of 3×3 stride-1 convolutions against
/// the convolution's definition summed in double precision: odd sizes
/// (partial tiles at the right and bottom), pads 0–2, groups, channel counts
/// that are not multiples of 16, a batch spread over several chunks, and
/// weights changed between two forwards.
final class WinogradTests: XCTestCase {
    /// top[n][k][y][x] = b[k] + Σ_c Σ_ij w[k][c][i][j] · x[n][g·C/G + c][y + i − pad][x + j − pad].
    private func direct(_ x: [Float], _ shape: [Int], _ w: [Float], _ b: [Float], outputs: Int, group: Int, pad: Int) -> [Float] {
        let (images, channels, h, wd) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h + 2 * pad - 2, wd + 2 * pad - 2)
        let (cg, kg) = (channels / group, outputs / group)
        var y = [Float](repeating: 0, count: images * outputs * oh * ow)
        for n in 0..<images {
            for k in 0..<outputs {
                let g = k / kg
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s = Double(b[k])
                        for c in 0..<cg {
                            for i in 0..<3 {
                                let iy = oy + i - pad
                                if iy < 0 || iy >= h { continue }
                                for j in 0..<3 {
                                    let ix = ox + j - pad
                                    if ix < 0 || ix >= wd { continue }
                                    s += Double(w[((k * cg + c) * 3 + i) * 3 + j])
                                        * Double(x[((n * channels + g * cg + c) * h + iy) * wd + ix])
                                }
                            }
                        }
                        y[((n * outputs + k) * oh + oy) * ow + ox] = Float(s)
                    }
                }
            }
        }
        return y
    }

    private func convolution(_ shape: [Int], outputs: Int, group: Int, pad: Int) throws -> Net {
        try Net(graph: try buildNet(net(input: shape, """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: \(outputs) kernel_size: 3 pad: \(pad) group: \(group) } }
            """)))
    }

    /// Largest |ours − direct| over the largest |direct|: 2–5e-6 measured
    /// (im2col + GEMM: about 1e-7); an indexing slip gives 0.1 or more.
    private func error(_ ours: [Float], _ expected: [Float]) -> Float {
        let scale = expected.map(abs).max() ?? 1
        return zip(ours, expected).map { abs($0 - $1) }.max()! / scale
    }

    /// The algorithm itself on small shapes (the layer would choose im2col
    /// for most of them), through one WinogradF43 so that its transformed
    /// weights must follow a change of weights.
    func testMatchesTheDefinition() throws {
        var random = RandomSource(seed: 7)
        let cases: [(shape: [Int], outputs: Int, group: Int, pad: Int)] = [
            ([1, 32, 13, 13], 16, 1, 1),   // AlexNet's maps: four tiles per row, the last one partial
            ([2, 36, 7, 9], 24, 1, 0),     // channels and outputs not multiples of 16
            ([3, 64, 5, 6], 32, 2, 2),     // groups, a pad wider than the kernel's reach
            ([1, 33, 4, 4], 33, 1, 1),     // one tile exactly
            ([1, 16, 18, 37], 20, 1, 1),   // runs of four tiles written as whole rows, then a run of two
            ([8, 32, 64, 64], 16, 1, 1),   // 2048 tiles: two chunks, split inside an image
        ]
        for c in cases {
            let n = try convolution(c.shape, outputs: c.outputs, group: c.group, pad: c.pad)
            let layer = try XCTUnwrap(n.layers[1] as? ConvolutionLayer)
            let winograd = WinogradF43(conv: layer.conv, group: c.group, outputs: c.outputs)
            let x = (0..<n.blob("data")!.count).map { _ in random.gaussian() }
            var w = (0..<layer.params[0].count).map { _ in random.gaussian() * 0.2 }
            let b = (0..<c.outputs).map { _ in random.gaussian() }
            n.blob("data")!.set(x)
            let y = Blob(n.blob("c")!.shape), workspace = Workspace()
            for change in ["", ", changed weights"] {
                if !change.isEmpty { w = w.map { -0.5 * $0 + 0.01 } }
                layer.params[0].set(w)
                winograd.forward(x: n.blob("data")!.data, images: c.shape[0], weights: layer.params[0].data,
                                 map: .init(scale: nil, shift: b, slope: nil), y: y.data, yStride: y.count / c.shape[0], workspace: workspace)
                let e = error(y.values, direct(x, c.shape, w, b, outputs: c.outputs, group: c.group, pad: c.pad))
                XCTAssertLessThan(e, 1e-5, "\(c)\(change)")
            }
        }
    }

    /// The layer takes this path where it is faster, and gives the same answer.
    func testTheLayerChoosesWinogradWhereItPays() throws {
        var random = RandomSource(seed: 8)
        // A 13×13 map at batch 2: 32 tiles × 64 channels × 192 outputs, just at the threshold.
        let shape = [2, 64, 13, 13]
        let n = try convolution(shape, outputs: 192, group: 1, pad: 1)
        let layer = try XCTUnwrap(n.layers[1] as? ConvolutionLayer)
        XCTAssertTrue(layer.usesWinograd)
        let x = (0..<n.blob("data")!.count).map { _ in random.gaussian() }
        let w = (0..<layer.params[0].count).map { _ in random.gaussian() * 0.1 }
        let b = (0..<192).map { _ in random.gaussian() }
        n.blob("data")!.set(x)
        layer.params[0].set(w)
        layer.params[1].set(b)
        try n.forward()
        XCTAssertLessThan(error(n.blob("c")!.values, direct(x, shape, w, b, outputs: 192, group: 1, pad: 1)), 1e-5)
        // Where im2col + GEMM is faster it stays: below 16 input channels per
        // group, fewer than 16 tiles, products too small for BLAS, or few
        // tiles with 36 MiB of transformed weights (VGG's conv5 at batch 1;
        // ResNet's 256 → 256 at 14×14, 9 MiB, takes Winograd).
        let resnet = try convolution([1, 256, 14, 14], outputs: 256, group: 1, pad: 1)
        XCTAssertTrue(try XCTUnwrap(resnet.layers[1] as? ConvolutionLayer).usesWinograd)
        for (shape, outputs) in [([1, 16, 13, 13], 64), ([1, 512, 7, 7], 512), ([1, 64, 13, 13], 256), ([1, 512, 14, 14], 512)] {
            let n = try convolution(shape, outputs: outputs, group: 1, pad: 1)
            XCTAssertFalse(try XCTUnwrap(n.layers[1] as? ConvolutionLayer).usesWinograd, "\(shape)")
        }
    }
}
