import Foundation
import XCTest
@testable import SwiftCaffe

/// InnerProduct and Convolution weights stored as fp16 or bfloat16 (`Net.storeWeights(as:)`):
/// the forward pass computes with exactly the rounded weights, and a whole
/// net's outputs stay within the stated tolerance of fp32.
final class WeightPrecisionTests: XCTestCase {
    func testRoundingToNearestEven() {
        // 1 + 2⁻⁸ lies halfway between bfloat16's 1 and 1 + 2⁻⁷: to the even one, 1.
        XCTAssertEqual(WeightPrecision.bf16.rounded(1 + 0x1p-8), 1)
        XCTAssertEqual(WeightPrecision.bf16.rounded(1 + 0x1p-8 + 0x1p-12), 1 + 0x1p-7)
        XCTAssertEqual(WeightPrecision.bf16.rounded(-3.0), -3.0)
        XCTAssertTrue(WeightPrecision.bf16.rounded(.nan).isNaN)
        XCTAssertEqual(WeightPrecision.fp16.rounded(1 + 0x1p-11), 1, "halfway to 1 + 2⁻¹⁰: to even")
        XCTAssertEqual(WeightPrecision.fp16.rounded(65520), .infinity, "past fp16's largest, 65504")
        XCTAssertEqual(WeightPrecision.fp32.rounded(0.1), 0.1)
    }

    /// Rows 1, 3 and 16 (the streaming kernel's range), K not a multiple of
    /// 16 (its tail): y = Σ rounded(w)·x + b, summed in Double here.
    func testInnerProductComputesWithTheRoundedWeights() throws {
        for precision in [WeightPrecision.fp16, .bf16] {
            for rows in [1, 3, 16] {
                let (k, n) = (53, 7)
                let net = try Net(graph: try buildNet(inputs([("x", [rows, k])], """
                    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: \(n) } }
                    """)))
                let x = FormulaParameters.values(rows * k, salt: 0, scale: 1)
                let w = FormulaParameters.values(n * k, salt: 1, scale: 0.3), b = FormulaParameters.values(n, salt: 2, scale: 0.1)
                net.blob("x")!.set(x)
                net.layers[1].params[0].set(w)
                net.layers[1].params[1].set(b)
                XCTAssertEqual(net.storeWeights(as: precision), ["ip"])
                try net.forward()
                let y = net.blob("y")!.values
                var worst: Double = 0
                for i in 0..<rows {
                    for j in 0..<n {
                        var s = Double(b[j])
                        for q in 0..<k { s += Double(precision.rounded(w[j * k + q])) * Double(x[i * k + q]) }
                        worst = max(worst, abs(s - Double(y[i * n + j])))
                    }
                }
                XCTAssertLessThan(worst, 1e-5, "\(precision) rows \(rows)")
                // The floats are kept, unrounded, and fp32 goes back to them.
                XCTAssertEqual(net.layers[1].params[0].values, w)
                net.storeWeights(as: .fp32)
                try net.forward()
                let exact = net.blob("y")!.values
                XCTAssertNotEqual(exact, y, "\(precision) changes the outputs a little")
                net.storeWeights(as: precision)
                XCTAssertThrowsError(try net.backward(layer: 1)) { e in
                    XCTAssertTrue("\(e)".contains("its weights are stored as \(precision.rawValue) for inference; a backward pass needs fp32 weights"), "\(e)")
                }
            }
        }
    }

    /// Convolutions on every engine (direct, 1×1, Winograd, im2col,
    /// depthwise), at batch 1 and 2: with the weights stored at fp16 or
    /// bfloat16 the outputs are those of fp32 weights rounded to it.
    func testConvolutionsComputeWithTheRoundedWeights() throws {
        for batch in [1, 2] {
            let net = try Net(graph: try buildNet(inputs([("x", [batch, 3, 32, 32])], """
                layer { name: "c0" type: "Convolution" bottom: "x" top: "c0" convolution_param { num_output: 16 kernel_size: 3 pad: 1 } }
                layer { name: "c1" type: "Convolution" bottom: "c0" top: "c1" convolution_param { num_output: 96 kernel_size: 1 } }
                layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }
                layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2" convolution_param { num_output: 96 kernel_size: 3 pad: 1 } }
                layer { name: "c3" type: "Convolution" bottom: "c2" top: "c3" convolution_param { num_output: 32 kernel_size: 3 pad: 1 stride: 2 } }
                layer { name: "c4" type: "Convolution" bottom: "c3" top: "c4" convolution_param { num_output: 32 kernel_size: 3 pad: 1 group: 32 } }
                """)))
            let convs = net.layers.compactMap { $0 as? ConvolutionLayer }
            XCTAssertTrue(convs[0].usesDirect, "c0 runs by direct summation")
            XCTAssertTrue(convs[2].usesWinograd, "c2 runs by Winograd")
            for (i, c) in convs.enumerated() {
                c.params[0].set(FormulaParameters.values(c.params[0].count, salt: Double(2 * i), scale: 0.4))
                c.params[1].set(FormulaParameters.values(c.params[1].count, salt: Double(2 * i + 1), scale: 0.1))
            }
            net.blob("x")!.set(FormulaParameters.values(net.blob("x")!.count, salt: 9, scale: 1))
            let floats = convs.map { $0.params[0].values }
            for precision in [WeightPrecision.fp16, .bf16] {
                XCTAssertEqual(net.storeWeights(as: precision), ["c0", "c1", "c2", "c3", "c4"])
                try net.forward()
                let got = net.blob("c4")!.values
                XCTAssertEqual(convs[0].params[0].values, floats[0], "the floats are kept")
                XCTAssertThrowsError(try net.backward(layer: 1)) { e in
                    XCTAssertTrue("\(e)".contains("its weights are stored as \(precision.rawValue) for inference"), "\(e)")
                }
                net.storeWeights(as: .fp32)
                for (c, w) in zip(convs, floats) { c.params[0].set(w.map { precision.rounded($0) }) }
                try net.forward()
                let want = net.blob("c4")!.values
                for (c, w) in zip(convs, floats) { c.params[0].set(w) }
                let scale = want.map { abs($0) }.max()!
                let worst = zip(got, want).map { abs($0 - $1) }.max()! / scale
                XCTAssertLessThan(worst, 1e-5, "\(precision) batch \(batch): \(worst) of the output's scale")
                try net.forward()
                XCTAssertGreaterThan(zip(net.blob("c4")!.values, got).map { abs($0 - $1) }.max()!, 0, "\(precision) changes the outputs a little")
            }
        }
    }

    /// The zoo at batch 1 with formula weights and input: the logits with
    /// every InnerProduct and Convolution at fp16 and bfloat16 against
    /// fp32, within the tolerance the README states, and the same top-1
    /// unless the fp32 logits have a near tie there.
    func testZooOutputsStayWithinTheStatedTolerance() throws {
        let nets = [("alexnet", "fc8"), ("googlenet", "loss3/classifier"), ("resnet50", "fc1000"), ("squeezenet", "pool10"),
                    ("vgg16", "fc8"), ("mobilenet_v1", "fc7"), ("mobilenet_v2", "fc7")]
        for (name, logits) in nets {
            let loaded = try ModelFile.loadNet(path: Paths.model("\(name)/deploy.prototxt"))
            let size = name == "alexnet" || name == "squeezenet" ? 227 : 224
            let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [1, 3, size, size]])))
            FormulaParameters.fill(net, fileLayers: loaded.net.layers)
            let data = net.blob("data")!
            data.set(FormulaParameters.values(data.count, salt: 0, scale: 100))
            try net.forward()
            let exact = net.blob(logits)!.values
            let scale = exact.map { abs($0) }.max()!
            XCTAssertGreaterThan(scale, 0, name)
            for (precision, tolerance) in [(WeightPrecision.fp16, Float(2e-3)), (.bf16, Float(2e-2))] {
                net.storeWeights(as: precision)
                try net.forward()
                let got = net.blob(logits)!.values
                let worst = zip(got, exact).map { abs($0 - $1) }.max()! / scale
                print("\(name) \(logits) with \(precision.rawValue) weights: max |Δ| = \(worst) of its scale")
                XCTAssertLessThan(worst, tolerance, "\(name) \(precision): \(logits) differs by \(worst) of its scale")
                // The same top-1, or one whose fp32 logit is within the error of the top
                // (ResNet-50's formula-weight logits have near ties).
                let top = exact.indices.max { exact[$0] < exact[$1] }!, gotTop = got.indices.max { got[$0] < got[$1] }!
                let margin = (exact[top] - exact[gotTop]) / scale
                if gotTop != top { print("  top-1 \(gotTop) instead of \(top): their fp32 logits differ by \(margin) of the scale") }
                XCTAssertLessThanOrEqual(margin, 2 * worst, "\(name) \(precision): top-1 \(gotTop) instead of \(top)")
            }
            net.storeWeights(as: .fp32)
        }
    }
}
