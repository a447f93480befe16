import Foundation
import XCTest
@testable import SwiftCaffe

/// Inference fusion (BatchNorm, Scale and ReLU folded into the convolution
/// before them; channel Concats written in place) changes no output beyond
/// float rounding, and backward after a fused forward is what it was.
final class FusionTests: XCTestCase {
    /// A reduced classic net (Fixtures/opencv/zoo_*) with formula parameters and input.
    func zooNet(_ name: String, side: Int) throws -> Net {
        let loaded = try ModelFile.loadNet(path: Paths.fixture("opencv/zoo_\(name).prototxt"))
        let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [2, 3, side, side]])))
        FormulaParameters.fill(net, fileLayers: loaded.net.layers)
        let data = net.blob("data")!
        data.set(FormulaParameters.values(data.count, salt: 0, scale: 100))
        return net
    }

    func outputs(_ net: Net) -> [[Float]] { net.outputBlobs.map(\.values) }

    func assertClose(_ a: [[Float]], _ b: [[Float]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        for (x, y) in zip(a, b) {
            let scale = y.map { abs($0) }.max() ?? 1
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1e-6), "\(what): L∞ \(worst) vs scale \(scale)", file: file, line: line)
        }
    }

    func testFusedOutputsMatchUnfusedOnes() throws {
        // (net, input side, layers a fused forward skips)
        let cases: [(String, Int, Int)] = [
            ("resnet50", 224, 53 * 2 + 33 + 16),  // every BatchNorm and Scale; the 33 ReLUs after convolutions, the 16 after the sums
            ("googlenet", 224, 57 + 9),      // a ReLU after each of the 57 convolutions; the 9 Inception concats
            ("squeezenet", 227, 26 + 8),     // 26 convolutions with ReLU; the 8 Fire concats
            ("vgg16", 224, 13),
        ]
        for (name, side, skipped) in cases {
            let net = try zooNet(name, side: side)
            XCTAssertTrue(net.fusesForInference, "on by default in a TEST net")
            XCTAssertEqual(net.fusedLayers.count, skipped, "\(name): \(net.fusedLayers)")
            net.fusesForInference = false
            try net.forward()
            let plain = outputs(net)
            net.fusesForInference = true
            try net.forward()
            assertClose(outputs(net), plain, name)
        }
    }

    /// ReLU6 after a convolution (and its BatchNorm and Scale) is folded
    /// into it, in each engine's epilogue: the first layer's direct
    /// convolution, Winograd's 3×3, the 3×3 depthwise kernel, the general
    /// depthwise kernel and the 1×1 product. Every blob of the fused pass
    /// holds the unfused value (to float rounding of sums up to ~100), with
    /// outputs below 0 and above 6 clamped.
    func testReLU6FoldsIntoEveryConvolutionEngine() throws {
        func chain(_ name: String, _ bottom: String, _ param: String) -> String {
            """
            layer { name: "\(name)" type: "Convolution" bottom: "\(bottom)" top: "\(name)" convolution_param { \(param) } }
            layer { name: "\(name)/bn" type: "BatchNorm" bottom: "\(name)" top: "\(name)" }
            layer { name: "\(name)/scale" type: "Scale" bottom: "\(name)" top: "\(name)" scale_param { bias_term: true } }
            layer { name: "\(name)/relu6" type: "ReLU6" bottom: "\(name)" top: "\(name)" }

            """
        }
        let text = net(input: [2, 3, 48, 48], chain("direct", "data", "num_output: 48 kernel_size: 3 pad: 1")
                       + chain("winograd", "direct", "num_output: 48 kernel_size: 3 pad: 1")
                       + chain("depthwise", "winograd", "num_output: 48 group: 48 kernel_size: 3 pad: 1 stride: 2")
                       + chain("depthwise5", "winograd", "num_output: 48 group: 48 kernel_size: 5 pad: 2")
                       + chain("pointwise", "winograd", "num_output: 24 kernel_size: 1"))
        let net = try Net(graph: try buildNet(text))
        FormulaParameters.fill(net, fileLayers: try ModelFile.loadNet(bytes: Array(text.utf8), file: "relu6.prototxt").net.layers)
        for l in net.layers where l.type == "BatchNorm" { l.params[2].set([1]); l.params[1].set(Array(repeating: 1, count: l.params[1].count)) }
        for l in net.layers where l.type == "Scale" { l.params[0].set(Array(repeating: 4, count: l.params[0].count)) }
        let data = net.blob("data")!
        data.set(FormulaParameters.values(data.count, salt: 0, scale: 10))
        XCTAssertEqual(Set(net.fusedLayers).filter { $0.hasSuffix("/relu6") }.count, 5)
        let convolutions = Dictionary(uniqueKeysWithValues: net.layers.compactMap { $0 as? ConvolutionLayer }.map { ($0.name, $0) })
        XCTAssertEqual(convolutions["direct"]?.usesDirect, true)
        XCTAssertEqual(convolutions["winograd"]?.usesWinograd, true)
        net.fusesForInference = false
        try net.forward()
        let plain = net.blobs.mapValues(\.values)
        net.fusesForInference = true
        try net.forward()
        for name in ["direct", "winograd", "depthwise", "depthwise5", "pointwise"] {
            let values = plain[name]!
            // The sums before the clamp reach ~100: rounding of the folded map is relative to them, not to 6.
            let worst = zip(net.blob(name)!.values, values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3, name)
            XCTAssertTrue(values.contains(6) && values.contains(0) && values.contains { $0 > 0 && $0 < 6 }, "\(name) meets both ends: \(values.prefix(8))")
        }
    }

    func testGoogLeNetConcatInputsAreLeftUnwrittenAndForwardSwitchesFusionOffForThem() throws {
        let net = try zooNet("googlenet", side: 224)
        XCTAssertTrue(net.blobsLeftUnwrittenByFusion.isSuperset(of: ["inception_3a/1x1", "inception_5b/pool_proj"]))
        XCTAssertFalse(net.blobsLeftUnwrittenByFusion.contains("inception_3a/pool"), "pooling is not fused")
    }

    /// Eltwise SUM (with coefficients, of two and of three bottoms), PROD and
    /// MAX, each followed by an in-place ReLU (leaky for two of them), on
    /// enough elements for several blocks on two threads, with a NaN in the
    /// input: the fused forward skips the ReLUs and gives the unfused values
    /// bit for bit.
    func testEltwiseAbsorbsTheReLUAfterIt() throws {
        let text = net(input: [2, 3, 60, 60], """
        layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 3 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.5 } } }
        layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 3 kernel_size: 1 weight_filler { type: "gaussian" std: 0.5 } } }
        layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }
        layer { name: "sum_relu" type: "ReLU" bottom: "sum" top: "sum" }
        layer { name: "sum3" type: "Eltwise" bottom: "a" bottom: "b" bottom: "data" top: "sum3" }
        layer { name: "sum3_relu" type: "ReLU" bottom: "sum3" top: "sum3" relu_param { negative_slope: 0.1 } }
        layer { name: "prod" type: "Eltwise" bottom: "a" bottom: "b" top: "prod" eltwise_param { operation: PROD } }
        layer { name: "prod_relu" type: "ReLU" bottom: "prod" top: "prod" relu_param { negative_slope: 0.25 } }
        layer { name: "max" type: "Eltwise" bottom: "a" bottom: "b" top: "max" eltwise_param { operation: MAX } }
        layer { name: "max_relu" type: "ReLU" bottom: "max" top: "max" }
        """)
        let net = try Net(graph: try buildNet(text), seed: 5)
        var rng = RandomSource(seed: 6)
        var x = (0..<net.blob("data")!.count).map { _ in rng.gaussian() }
        x[1000] = .nan  // which the ReLUs must pass on, fused or not
        net.blob("data")!.set(x)
        XCTAssertEqual(net.fusedLayers, ["sum_relu", "sum3_relu", "prod_relu", "max_relu"])
        net.fusesForInference = false
        try net.forward()
        let plain = ["sum", "sum3", "prod", "max"].map { net.blob($0)!.values }
        XCTAssertTrue(plain.allSatisfy { v in v.contains { $0 <= 0 } && v.contains { $0 > 0 } && v.contains { $0.isNaN } },
                      "the ReLUs clip some values and pass NaNs on")
        net.fusesForInference = true
        try net.forward()
        for (name, values) in zip(["sum", "sum3", "prod", "max"], plain) {
            XCTAssertEqual(net.blob(name)!.values.map(\.bitPattern), values.map(\.bitPattern), name)
        }
    }

    /// conv → BatchNorm → Scale → ReLU twice, concatenated, then a loss: the
    /// gradients after a fused forward equal those of an unfused net.
    func testBackwardAfterAFusedForwardMatches() throws {
        let text = net(input: [2, 3, 6, 6], """
        layer { name: "t" type: "Input" top: "target" input_param { shape { dim: 2 dim: 80 } } }
        layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 2 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } bias_filler { type: "gaussian" std: 0.3 } } }
        layer { name: "a_bn" type: "BatchNorm" bottom: "a" top: "a" }
        layer { name: "a_scale" type: "Scale" bottom: "a" top: "a" scale_param { bias_term: true filler { type: "uniform" min: 0.5 max: 1.5 } bias_filler { type: "gaussian" std: 0.2 } } }
        layer { name: "a_relu" type: "ReLU" bottom: "a" top: "a" }
        layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 3 kernel_size: 1 weight_filler { type: "gaussian" std: 0.3 } } }
        layer { name: "b_relu" type: "ReLU" bottom: "b" top: "b" relu_param { negative_slope: 0.1 } }
        layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" }
        layer { name: "flat" type: "Flatten" bottom: "cat" top: "flat" }
        layer { name: "ip" type: "InnerProduct" bottom: "flat" top: "ip" inner_product_param { num_output: 80 weight_filler { type: "gaussian" std: 0.1 } } }
        layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
        """)
        func make() throws -> Net {
            let n = try Net(graph: try buildNet(text), seed: 4)
            // Trained-like statistics: mean, variance, factor.
            let bn = n.layers.first { $0.name == "a_bn" }!
            bn.params[0].set([0.3, -0.2])
            bn.params[1].set([1.5, 0.7])
            bn.params[2].set([2])
            var rng = RandomSource(seed: 8)
            for name in ["data", "target"] { let b = n.blob(name)!; for i in 0..<b.count { b.data[i] = rng.uniform(-1, 1) } }
            return n
        }
        let fused = try make(), plain = try make()
        plain.fusesForInference = false
        XCTAssertEqual(Set(fused.fusedLayers), ["a_bn", "a_scale", "a_relu", "b_relu", "cat"])
        let lossFused = try fused.forward(), lossPlain = try plain.forward()
        XCTAssertEqual(lossFused, lossPlain, accuracy: 1e-5 * abs(lossPlain))
        try fused.backward()
        try plain.backward()
        for (f, p) in zip(fused.learnableParams, plain.learnableParams) {
            XCTAssertEqual(f.gradients, p.gradients, "backward reran the forward unfused, so gradients are identical")
        }
        XCTAssertEqual(fused.blob("data")!.gradients, plain.blob("data")!.gradients)
    }
}
