import XCTest
@testable import SwiftCaffe

/// Layers of the Caffe forks: ShuffleChannel (farmingyard/ShuffleNet), ReLU6
/// (MobileNet v2 ports), Axpy (hujie-frank/SENet). Forward values by hand
/// from each fork's definition, gradients against finite differences.
final class ForkLayerTests: XCTestCase {
    /// Runs `layer` on inputs named by `values`, returns blob "y".
    private func run(_ values: [(String, Shape, [Float])], _ layer: String) throws -> [Float] {
        let n = try Net(graph: try buildNet(inputs(values.map { ($0.0, $0.1) }, layer)))
        for (name, _, v) in values { n.blob(name)!.set(v) }
        try n.forward()
        return n.blob("y")!.values
    }

    func testShuffleChannelTransposesGroups() throws {
        // Channel c holds (10c, 10c + 1). Group 2 of 6 channels: output i·2 + g is input g·3 + i,
        // so the order is 0 3 1 4 2 5; group 3: 0 2 4 1 3 5 (the fork's "1 2 3|4 5 6 → 1 4|2 5|3 6" picture).
        let x: [Float] = (0..<6).flatMap { [Float($0 * 10), Float($0 * 10 + 1)] }
        func shuffled(_ group: Int, top: String = "y") throws -> [Float] {
            try run([("x", [1, 6, 1, 2], x)], """
                layer { name: "s" type: "ShuffleChannel" bottom: "x" top: "\(top)" shuffle_channel_param { group: \(group) } }
                """ + (top == "x" ? "\nlayer { name: \"copy\" type: \"Power\" bottom: \"x\" top: \"y\" }" : ""))
        }
        func channels(_ order: [Int]) -> [Float] { order.flatMap { [Float($0 * 10), Float($0 * 10 + 1)] } }
        XCTAssertEqual(try shuffled(2), channels([0, 3, 1, 4, 2, 5]))
        XCTAssertEqual(try shuffled(3), channels([0, 2, 4, 1, 3, 5]))
        XCTAssertEqual(try shuffled(1), x, "one group: unchanged")
        XCTAssertEqual(try shuffled(2, top: "x"), channels([0, 3, 1, 4, 2, 5]), "in place, as some prototxts write it")

        let mismatches = try GradientChecker().check(inputs([("x", [2, 6, 3, 2])], """
            layer { name: "s" type: "ShuffleChannel" bottom: "x" top: "y" shuffle_channel_param { group: 3 } }
            """), layer: "s", generators: ["x": GradientChecker.uniform], quiet: false)
        XCTAssertEqual(mismatches, 0)
        assertError({ try buildNet(net(input: [1, 6, 2, 2], """
            layer { name: "s" type: "ShuffleChannel" bottom: "data" top: "y" shuffle_channel_param { group: 4 } }
            """)) }, "layer 's' (ShuffleChannel): 6 channels do not split into 4 groups (shuffle_channel_param group)", line: 2, column: 90)
    }

    func testReLU6ClampsToZeroAndSix() throws {
        let y = try run([("x", [1, 6], [-1, 0, 3, 6, 7, 5.5])], "layer { name: \"r\" type: \"ReLU6\" bottom: \"x\" top: \"y\" }")
        XCTAssertEqual(y, [0, 0, 3, 6, 6, 5.5])
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 4])], """
            layer { name: "r" type: "ReLU6" bottom: "x" top: "y" }
            """), layer: "r", generators: ["x": { _, _, r in
                // Across (-2, 8), away from the kinks at 0 and 6.
                let v = r.uniform(-2, 8)
                return abs(v) < 0.1 || abs(v - 6) < 0.1 ? v + 0.3 : v
            }], quiet: false)
        XCTAssertEqual(mismatches, 0)
    }

    func testAxpyScalesChannelsAndAdds() throws {
        // a = (2, −1): channel 0 of x doubled, channel 1 negated, plus y.
        let y = try run([("a", [1, 2, 1, 1], [2, -1]), ("x", [1, 2, 1, 2], [1, 2, 3, 4]), ("b", [1, 2, 1, 2], [10, 20, 30, 40])],
                        "layer { name: \"axpy\" type: \"Axpy\" bottom: \"a\" bottom: \"x\" bottom: \"b\" top: \"y\" }")
        XCTAssertEqual(y, [12, 24, 27, 36])
        let mismatches = try GradientChecker().check(inputs([("a", [2, 3, 1, 1]), ("x", [2, 3, 2, 3]), ("b", [2, 3, 2, 3])], """
            layer { name: "axpy" type: "Axpy" bottom: "a" bottom: "x" bottom: "b" top: "y" }
            """), layer: "axpy", generators: ["a": GradientChecker.uniform, "x": GradientChecker.uniform, "b": GradientChecker.uniform], quiet: false)
        XCTAssertEqual(mismatches, 0)
        let bad = diagnostics({ try buildNet(inputs([("a", [1, 3, 1, 1]), ("x", [1, 2, 2, 2]), ("b", [1, 2, 2, 2])], """
            layer { name: "axpy" type: "Axpy" bottom: "a" bottom: "x" bottom: "b" top: "y" }
            """)) })
        XCTAssertEqual(bad.map(\.message), ["layer 'axpy' (Axpy): Axpy's first bottom must be N×C×1×1 for an N×C×... x, found 1×3×1×1 for 1×2×2×2"])
    }

    /// The depthwise kernel's backward (weights, bias, input) at stride 1 and
    /// 2, with a channel multiplier and dilation, against finite differences.
    func testDepthwiseConvolutionGradients() throws {
        for param in ["num_output: 4 group: 4 kernel_size: 3 pad: 1", "num_output: 4 group: 4 kernel_size: 3 pad: 1 stride: 2",
                      "num_output: 8 group: 4 kernel_h: 3 kernel_w: 2 pad: 1 dilation: 2"] {
            let mismatches = try GradientChecker().check(inputs([("x", [2, 4, 5, 6])], """
                layer { name: "dw" type: "Convolution" bottom: "x" top: "y"
                        convolution_param { \(param) weight_filler { type: "uniform" min: -1 max: 1 } bias_filler { type: "uniform" min: -1 max: 1 } } }
                """), layer: "dw", quiet: true)
            XCTAssertEqual(mismatches, 0, param)
        }
    }

    /// The 3×3 depthwise path (padded scratch, even/odd columns at stride 2)
    /// against the convolution written out as a sum over taps: pads 0 to 2,
    /// planes from 1×1 to MobileNet's 7×7 and wider than a vector, a channel
    /// multiplier of 2, and the fused BatchNorm, Scale and ReLU epilogue.
    func testDepthwise3x3MatchesTheSumOverTaps() throws {
        for (h, w, stride, pad, multiplier) in [(7, 7, 1, 1, 1), (14, 14, 2, 1, 1), (1, 1, 1, 1, 1), (5, 8, 2, 0, 2), (13, 3, 1, 2, 1),
                                                (9, 19, 2, 2, 1), (20, 18, 1, 0, 2), (2, 5, 2, 1, 1)] {
            let channels = 3, outputs = channels * multiplier
            let text = net(input: [2, channels, h, w], """
                layer { name: "dw" type: "Convolution" bottom: "data" top: "y" convolution_param { num_output: \(outputs) group: \(channels)
                        kernel_size: 3 stride: \(stride) pad: \(pad) } }
                layer { name: "bn" type: "BatchNorm" bottom: "y" top: "y" }
                layer { name: "sc" type: "Scale" bottom: "y" top: "y" scale_param { bias_term: true } }
                layer { name: "relu" type: "ReLU" bottom: "y" top: "y" relu_param { negative_slope: 0.1 } }
                """)
            let n = try Net(graph: try buildNet(text))
            XCTAssertTrue(n.fusesForInference)
            let x = FormulaParameters.values(2 * channels * h * w, salt: 0, scale: 1)
            let weights = FormulaParameters.values(outputs * 9, salt: 1, scale: 0.5), bias = FormulaParameters.values(outputs, salt: 2, scale: 0.3)
            let (mean, variance) = (FormulaParameters.values(outputs, salt: 3, scale: 0.2), FormulaParameters.values(outputs, salt: 4, scale: 0.5).map { 1 + abs($0) })
            let (gamma, beta) = (FormulaParameters.values(outputs, salt: 5, scale: 1), FormulaParameters.values(outputs, salt: 6, scale: 0.2))
            n.blob("data")!.set(x)
            let dw = n.layers.first { $0.name == "dw" }!, bn = n.layers.first { $0.name == "bn" }!, sc = n.layers.first { $0.name == "sc" }!
            dw.params[0].set(weights)
            dw.params[1].set(bias)
            bn.params[0].set(mean)
            bn.params[1].set(variance)
            bn.params[2].set([1])
            sc.params[0].set(gamma)
            sc.params[1].set(beta)
            try n.forward()
            let (oh, ow) = ((h + 2 * pad - 3) / stride + 1, (w + 2 * pad - 3) / stride + 1)
            let y = n.blob("y")!
            XCTAssertEqual(y.shape, [2, outputs, oh, ow])
            var worst: Float = 0
            for image in 0..<2 {
                for o in 0..<outputs {
                    let plane = (image * channels + o / multiplier) * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var s = Double(bias[o])
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let (iy, ix) = (oy * stride - pad + ky, ox * stride - pad + kx)
                                    if iy >= 0, iy < h, ix >= 0, ix < w { s += Double(weights[o * 9 + ky * 3 + kx]) * Double(x[plane + iy * w + ix]) }
                                }
                            }
                            var v = (s - Double(mean[o])) / (Double(variance[o]) + 1e-5).squareRoot() * Double(gamma[o]) + Double(beta[o])
                            if v < 0 { v *= 0.1 }
                            worst = max(worst, abs(Float(v) - y.values[((image * outputs + o) * oh + oy) * ow + ox]))
                        }
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-5, "\(h)×\(w) stride \(stride) pad \(pad) multiplier \(multiplier)")
        }
    }

    /// ConvolutionDepthwise and DepthwiseConvolution are Convolutions with
    /// num_output = group = the input's channels, whether or not the file says so.
    func testForkDepthwiseTypesAreConvolutionsWithGroupChannels() throws {
        func outputs(_ type: String, _ param: String) throws -> (Shape, [Shape], [Float]) {
            let graph = try buildNet(net(input: [1, 3, 5, 5], """
                layer { name: "dw" type: "\(type)" bottom: "data" top: "y" convolution_param { \(param) } }
                """))
            let n = try Net(graph: graph)
            n.blob("data")!.set(FormulaParameters.values(75, salt: 0, scale: 1))
            n.layers[1].params[0].set(FormulaParameters.values(27, salt: 1, scale: 0.5))
            n.layers[1].params[1].set([0.1, -0.2, 0.3])
            try n.forward()
            return (n.blob("y")!.shape, n.layers[1].params.map(\.shape), n.blob("y")!.values)
        }
        let plain = try outputs("Convolution", "num_output: 3 group: 3 kernel_size: 3 stride: 2 pad: 1")
        XCTAssertEqual(plain.0, [1, 3, 3, 3])
        XCTAssertEqual(plain.1, [[3, 1, 3, 3], [3]])
        for (type, param) in [("ConvolutionDepthwise", "kernel_size: 3 stride: 2 pad: 1"),
                              ("DepthwiseConvolution", "num_output: 3 group: 3 kernel_size: 3 stride: 2 pad: 1")] {
            let fork = try outputs(type, param)
            XCTAssertEqual(fork.0, plain.0, type)
            XCTAssertEqual(fork.1, plain.1, type)
            XCTAssertEqual(fork.2, plain.2, type)
        }
        // By hand: the centre output of channel 0 at stride 2 is the 3×3 window at (1..3, 1..3).
        let x = FormulaParameters.values(75, salt: 0, scale: 1), w = FormulaParameters.values(27, salt: 1, scale: 0.5)
        var centre: Float = 0.1
        for ky in 0..<3 { for kx in 0..<3 { centre += w[ky * 3 + kx] * x[(1 + ky) * 5 + 1 + kx] } }
        XCTAssertEqual(plain.2[4], centre, accuracy: 1e-5)
        assertError({ try buildNet(net(input: [1, 3, 5, 5], """
            layer { name: "dw" type: "ConvolutionDepthwise" bottom: "data" top: "y" convolution_param { num_output: 6 kernel_size: 3 } }
            """)) }, "layer 'dw' (ConvolutionDepthwise): ConvolutionDepthwise convolves each of the 3 input channels with its own filter, "
                + "but num_output is 6; write 3 or leave it out", line: 2, column: 93)
    }
}
