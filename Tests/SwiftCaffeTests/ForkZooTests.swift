import Foundation
import XCTest
@testable import SwiftCaffe

/// The fork-layer nets of Models/ (make_mobile_zoo.py): learned-value counts
/// against the published totals, multiply-adds of the convolutions and fc
/// layers against the papers', and a forward pass that runs. Caffe's
/// BatchNorm keeps its statistics as blobs (mean and variance per channel,
/// one factor per layer), which the published counts leave out.
final class ForkZooTests: XCTestCase {
    private func graph(_ model: String) throws -> NetGraph {
        try NetGraph.build(try ModelFile.loadNet(path: Paths.model(model)).net)
    }

    /// (learned values without BatchNorm's statistics, convolution and fc MACs).
    private func counts(_ g: NetGraph) -> (learned: Int, macs: Int) {
        let statistics = g.layers.filter { $0.layer.type == "BatchNorm" }.reduce(0) { $0 + 2 * ($1.topShapes[0]?[1] ?? 0) + 1 }
        let weighted: Set<String> = ["Convolution", "ConvolutionDepthwise", "InnerProduct"]
        let macs = g.layers.filter { weighted.contains($0.layer.type) }.reduce(0) { $0 + ($1.macs ?? 0) }
        return ((g.totalParams ?? 0) - statistics, macs)
    }

    private func runs(_ g: NetGraph, file: StaticString = #filePath, line: UInt = #line) throws -> Net {
        let net = try Net(graph: g)
        for l in net.layers where l.type == "BatchNorm" {
            l.params[1].set(Array(repeating: 1, count: l.params[1].count))
            l.params[2].set([1])
        }
        let data = net.blob("data")!
        var rng = RandomSource(seed: 3)
        for i in 0..<data.count { data.data[i] = rng.uniform(-1, 1) }
        try net.forward()
        return net
    }

    func testMobileNetV1() throws {
        let g = try graph("mobilenet_v1/deploy.prototxt")
        let c = counts(g)
        // The paper's Table 1 (1.0 MobileNet-224): 4.2 million parameters, 569 million mult-adds;
        // exactly, as Keras's MobileNet counts its trainable weights: 4,231,976.
        XCTAssertEqual(c.learned, 4_231_976)
        XCTAssertEqual(Double(c.macs), 569e6, accuracy: 1e6)
        XCTAssertEqual(g.layers.filter { $0.layer.type == "Convolution" && $0.layer.proto.convolutionParam.group > 1 }.count, 13)
        let prob = try runs(g).blob("prob")!
        XCTAssertEqual(prob.shape, [1, 1000, 1, 1])
        XCTAssertEqual(prob.values.reduce(0, +), 1, accuracy: 1e-4)
    }

    func testMobileNetV2() throws {
        let g = try graph("mobilenet_v2/deploy.prototxt")
        let c = counts(g)
        // The paper's Table 3: 3.4M parameters, 300M multiply-adds; Keras's MobileNetV2 trains 3,504,872.
        XCTAssertEqual(c.learned, 3_504_872)
        XCTAssertEqual(Double(c.macs), 300e6, accuracy: 3e6)
        XCTAssertEqual(g.layers.filter { $0.layer.type == "Eltwise" }.count, 10, "shortcuts where the shape is kept")
        XCTAssertEqual(g.layers.filter { $0.layer.type == "ReLU6" }.count, 35)
        XCTAssertEqual(try runs(g).blob("prob")!.shape, [1, 1000, 1, 1])
    }

    func testMobileNetSSD() throws {
        let g = try graph("mobilenet_ssd/deploy.prototxt")
        // 19·19·3 + (10·10 + 5·5 + 3·3 + 2·2 + 1·1)·6 = 1917 priors, as the published net has.
        let prior = try XCTUnwrap(g.layers.first { $0.layer.name == "mbox_priorbox" }?.topShapes[0])
        XCTAssertEqual(prior, [1, 2, 1917 * 4])
        XCTAssertEqual(g.layers.first { $0.layer.name == "mbox_conf_flatten" }?.topShapes[0], [1, 1917 * 21])
        // Learned values layer by layer: backbone (MobileNet v1 to conv13, with biases), extras, heads.
        var params = 32 * 27 + 32
        var cin = 32
        for (n, _) in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + Array(repeating: (512, 1), count: 5) + [(1024, 2), (1024, 1)] {
            params += cin * 9 + cin + n * cin + n
            cin = n
        }
        for (a, b) in [(256, 512), (128, 256), (128, 256), (64, 128)] {
            params += a * cin + a + b * a * 9 + b
            cin = b
        }
        for (c, perCell) in [(512, 3), (1024, 6), (512, 6), (256, 6), (256, 6), (128, 6)] {
            params += (4 + 21) * perCell * (c + 1)
        }
        XCTAssertEqual(g.totalParams, params)
        let net = try runs(g)
        let detections = try XCTUnwrap(net.blob("detection_out"))
        XCTAssertEqual(detections.shape.prefix(3), [1, 1, detections.dim(2)])
        XCTAssertEqual(detections.dim(3), 7)
    }

    func testShuffleNetV2() throws {
        let g = try graph("shufflenet_v2/deploy.prototxt")
        let c = counts(g)
        // torchvision's shufflenet_v2_x1_0: 2,278,604 parameters; the paper: 146M FLOPs (multiply-adds).
        XCTAssertEqual(c.learned, 2_278_604)
        XCTAssertEqual(Double(c.macs), 146e6, accuracy: 2e6)
        XCTAssertEqual(g.layers.filter { $0.layer.type == "ShuffleChannel" }.count, 16)
        XCTAssertEqual(g.layers.filter { $0.layer.type == "ConvolutionDepthwise" }.count, 19)
        XCTAssertEqual(try runs(g).blob("prob")!.shape, [1, 1000])
    }

    func testSEResNet50() throws {
        let g = try graph("se_resnet50/deploy.prototxt")
        let c = counts(g)
        // ResNet-50's 25,557,032 plus, per block of C output channels, 2·C²/16 + C/16 + C:
        // 3·8,464 + 4·33,312 + 6·132,160 + 3·526,464 = 2,530,992; timm's seresnet50 has 28,088,024.
        XCTAssertEqual(c.learned, 28_088_024)
        XCTAssertEqual(g.layers.filter { $0.layer.type == "Axpy" }.count, 16)
        XCTAssertEqual(try runs(g).blob("prob")!.shape, [1, 1000])
    }
}
