import Foundation
import XCTest
@testable import SwiftCaffe

/// InnerProduct weights stored as fp16 or bfloat16 (`Net.storeWeights(as:)`):
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

    /// AlexNet (full size, formula weights) at batch 1: its fc layers at fp16
    /// and bfloat16 against fp32, the tolerance the README states.
    func testAlexNetOutputsStayWithinTheStatedTolerance() throws {
        let loaded = try ModelFile.loadNet(path: Paths.model("alexnet/deploy.prototxt"))
        let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [1, 3, 227, 227]])))
        FormulaParameters.fill(net, fileLayers: loaded.net.layers)
        let data = net.blob("data")!
        data.set(FormulaParameters.values(data.count, salt: 0, scale: 100))
        try net.forward()
        let fc8 = net.blob("fc8")!.values
        let scale = fc8.map { abs($0) }.max()!
        for (precision, tolerance) in [(WeightPrecision.fp16, Float(1e-3)), (.bf16, Float(1e-2))] {
            net.storeWeights(as: precision)
            try net.forward()
            let got = net.blob("fc8")!.values
            let worst = zip(got, fc8).map { abs($0 - $1) }.max()! / scale
            XCTAssertLessThan(worst, tolerance, "\(precision): fc8 differs by \(worst) of its scale")
            print("AlexNet fc8 with \(precision.rawValue) fc weights: max |Δ| = \(worst) of its scale")
            XCTAssertEqual(got.indices.max { got[$0] < got[$1] }, fc8.indices.max { fc8[$0] < fc8[$1] }, "\(precision): same top-1")
        }
    }
}
