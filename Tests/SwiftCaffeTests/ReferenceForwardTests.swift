import Foundation
import XCTest
@testable import SwiftCaffe

/// Forward outputs against OpenCV DNN's, computed independently by
/// Fixtures/opencv/make_opencv_fixtures.py on the same prototxt, inputs and
/// parameters (both sides compute them from one formula: FormulaParameters).
/// Tolerance: L∞ ≤ 1e-4 of the output's largest magnitude.
final class ReferenceForwardTests: XCTestCase {
    func check(_ name: String, model: String, inputs: [(String, Shape)], outputs: [String], inputScale: Double = 1,
               file: StaticString = #filePath, line: UInt = #line) throws {
        try checkAgainstOpenCV(name, model: model, inputs: inputs, outputs: outputs, inputScale: inputScale, file: file, line: line)
    }

    func fixture(_ f: String) -> String { opencvFixture(f) }

    func testGroupedRectangularDilatedConvolution() throws {
        try check("conv_grouped", model: fixture("conv_grouped"), inputs: [("data", [2, 4, 9, 8])], outputs: ["conv"])
    }

    /// The depthwise kernel (group = channels): 3×3 at stride 1 and 2, a
    /// channel multiplier of 2, a dilated 5×3 kernel.
    func testDepthwiseConvolution() throws {
        try check("conv_depthwise", model: fixture("conv_depthwise"), inputs: [("data", [2, 6, 11, 10])], outputs: ["dw_s1", "dw_s2", "dw_x2"])
    }

    func testShuffleChannelAndReLU6() throws {
        try check("fork_layers", model: fixture("fork_layers"), inputs: [("data", [2, 6, 3, 4])], outputs: ["shuffle", "relu6"], inputScale: 8)
    }

    func testDeconvolution() throws {
        try check("deconv", model: fixture("deconv"), inputs: [("data", [1, 4, 5, 6])], outputs: ["deconv"])
    }

    func testPoolingWindowsOverThePaddedEdge() throws {
        try check("pooling", model: fixture("pooling"), inputs: [("data", [2, 3, 7, 6])], outputs: ["max", "ave"])
    }

    func testLRNBothRegions() throws {
        try check("lrn", model: fixture("lrn"), inputs: [("data", [2, 7, 5, 4])], outputs: ["across", "within"])
    }

    func testInnerProductOnAxes2And3() throws {
        try check("inner_product", model: fixture("inner_product"), inputs: [("data", [2, 3, 4, 5])], outputs: ["ip_axis2", "ip_axis3"])
    }

    func testSoftmaxAndMVN() throws {
        try check("softmax_mvn", model: fixture("softmax_mvn"), inputs: [("data", [2, 5, 3, 4])], outputs: ["prob", "mvn", "mvn_mean"])
    }

    func testBatchNormAndScale() throws {
        try check("bn_scale", model: fixture("bn_scale"), inputs: [("data", [2, 4, 3, 3])], outputs: ["scale"])
    }

    func testEltwiseAndConcat() throws {
        try check("eltwise_concat", model: fixture("eltwise_concat"), inputs: [("a", [2, 3, 4, 4]), ("b", [2, 3, 4, 4])],
                  outputs: ["sum", "prod", "max", "cat"])
    }

    func testWholeAlexNetAndCaffeNet() throws {
        for net in ["alexnet", "caffenet"] {
            try check(net, model: Paths.model("\(net)/deploy.prototxt"), inputs: [("data", [1, 3, 227, 227])],
                      outputs: ["pool5", "fc8", "prob"], inputScale: 100)
        }
    }

    /// The classic nets of Models/ with hidden channels divided (2-8x), every
    /// layer type and connection of the full nets: VGG-16's 13 convolutions
    /// and fc layers, SqueezeNet's Fire concats and global pooling, NIN's
    /// 1x1 stacks, ResNet-50's BatchNorm + Scale and Eltwise shortcuts,
    /// GoogLeNet's Inception concats with padded pooling.
    func testReducedClassicNets() throws {
        let nets: [(String, Int, [String])] = [
            ("vgg16", 224, ["pool5", "fc8"]), ("squeezenet", 227, ["pool5", "pool10"]), ("nin", 224, ["pool2", "pool4"]),
            ("resnet50", 224, ["pool5", "fc1000"]), ("googlenet", 224, ["inception_4a/output", "inception_5b/output", "loss3/classifier"]),
        ]
        for (net, side, outputs) in nets {
            try check("zoo_\(net)", model: fixture("zoo_\(net)"), inputs: [("data", [1, 3, side, side])],
                      outputs: outputs, inputScale: 100)
        }
    }
}

/// Runs `model` with formula inputs and parameters and compares `outputs` with
/// OpenCV's saved ones (ReferenceForwardTests' rule).
func checkAgainstOpenCV(_ name: String, model: String, inputs: [(String, Shape)], outputs: [String], inputScale: Double = 1,
           file: StaticString = #filePath, line: UInt = #line) throws {
    var text = try String(contentsOfFile: model, encoding: .utf8)
    if model.hasSuffix("deploy.prototxt") { text = text.replacingOccurrences(of: "dim: 10 dim: 3", with: "dim: 1 dim: 3") }
    let loaded = try ModelFile.loadNet(bytes: Array(text.utf8), file: model)
    let graph = try NetGraph.build(loaded.net, options: .init(inputShapes: Dictionary(uniqueKeysWithValues: inputs)))
    let net = try Net(graph: graph)
    for (j, (blob, shape)) in inputs.enumerated() {
        net.blob(blob)!.set(FormulaParameters.values(count(shape), salt: 0.25 * Double(j), scale: inputScale))
    }
    FormulaParameters.fill(net, fileLayers: loaded.net.layers)
    try net.forward()
    for out in outputs {
        let expected = try NPY.read(path: Paths.fixture("opencv/\(name).\(out.replacingOccurrences(of: "/", with: "_")).npy"))
        let blob = try XCTUnwrap(net.blob(out), "\(name): no blob \(out)", file: file, line: line)
        XCTAssertEqual(blob.count, count(expected.shape), "\(name).\(out): shape \(blob.shape) vs OpenCV \(expected.shape)", file: file, line: line)
        guard blob.count == count(expected.shape) else { continue }
        let scale = expected.values.map { abs($0) }.max() ?? 1
        let worst = zip(blob.values, expected.values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-4 * max(scale, 1e-6), "\(name).\(out): L∞ error \(worst) vs scale \(scale)", file: file, line: line)
    }
}

func opencvFixture(_ f: String) -> String { Paths.fixture("opencv/\(f).prototxt") }
