import Foundation
import XCTest
@testable import SwiftCaffe

/// The classic nets in Models/: parameter counts and MACs against numbers
/// from outside this code (the published counts of the same architectures,
/// and MACs worked out layer by layer here), and a forward pass that runs.
final class ZooTests: XCTestCase {
    func graph(_ model: String, batch: Int? = nil) throws -> NetGraph {
        let loaded = try ModelFile.loadNet(path: Paths.model(model))
        var shapes: [String: Shape] = [:]
        if let b = batch, let input = loaded.net.layers.first(where: { $0.type == "Input" }) {
            let dims = input.proto.inputParam.shape[0].dim
            shapes[input.tops[0]] = [b] + dims.dropFirst()
        }
        return try NetGraph.build(loaded.net, options: .init(inputShapes: shapes))
    }

    func testLeNetCounts() throws {
        // conv1 20·(1·25) + 20, conv2 50·(20·25) + 50, ip1 500·800 + 500, ip2 10·500 + 10.
        let g = try graph("lenet/deploy.prototxt", batch: 1)
        XCTAssertEqual(g.totalParams, 520 + 25_050 + 400_500 + 5_010)
        // MACs: 24²·20·25 + 8²·50·500 + 800·500 + 500·10.
        XCTAssertEqual(g.totalMACs, 576 * 500 + 64 * 25_000 + 400_000 + 5_000)
        // The train net reads Fashion-MNIST's 28×28 records when the package is installed.
        XCTAssertEqual(try ModelFile.loadNet(path: Paths.model("lenet/train_val.prototxt")).net.layers.filter { $0.type == "Data" }.count, 2)
    }

    func testVGG16Counts() throws {
        let g = try graph("vgg16/deploy.prototxt", batch: 1)
        // 138,357,544: the count published for VGG-16 (torchvision's vgg16, Keras' VGG16).
        XCTAssertEqual(g.totalParams, 138_357_544)
        // MACs layer by layer: 3×3 convolutions at 224, 112, 56, 28, 14, then fc6 (25088→4096), fc7, fc8.
        let convs: [(side: Int, cin: Int, cout: Int)] = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128),
            (56, 128, 256), (56, 256, 256), (56, 256, 256), (28, 256, 512), (28, 512, 512), (28, 512, 512),
            (14, 512, 512), (14, 512, 512), (14, 512, 512)]
        let macs = convs.reduce(0) { $0 + $1.side * $1.side * $1.cout * $1.cin * 9 } + 25_088 * 4096 + 4096 * 4096 + 4096 * 1000
        XCTAssertEqual(g.totalMACs, macs)
        XCTAssertEqual(macs, 15_470_264_320)
    }

    func testSqueezeNetCounts() throws {
        let g = try graph("squeezenet/deploy.prototxt", batch: 1)
        // 1,235,496: the count published for SqueezeNet v1.1 (torchvision's squeezenet1_1).
        XCTAssertEqual(g.totalParams, 1_235_496)
        // MACs: conv1 113²·64·27; each Fire at side s: s²·(Cin·sq + sq·ex + sq·ex·9); conv10 14²·512·1000.
        let fires: [(side: Int, cin: Int, sq: Int, ex: Int)] = [(56, 64, 16, 64), (56, 128, 16, 64), (28, 128, 32, 128), (28, 256, 32, 128),
            (14, 256, 48, 192), (14, 384, 48, 192), (14, 384, 64, 256), (14, 512, 64, 256)]
        let macs = 113 * 113 * 64 * 27 + fires.reduce(0) { $0 + $1.side * $1.side * ($1.cin * $1.sq + $1.sq * $1.ex * 10) } + 196 * 512 * 1000
        XCTAssertEqual(g.totalMACs, macs)
    }

    func testSqueezeNetRunsForward() throws {
        let net = try Net(graph: graph("squeezenet/deploy.prototxt", batch: 1))
        let data = net.blob("data")!
        var rng = RandomSource(seed: 3)
        for i in 0..<data.count { data.data[i] = rng.uniform(-50, 50) }
        try net.forward()
        let prob = net.blob("prob")!
        XCTAssertEqual(prob.shape, [1, 1000, 1, 1])
        XCTAssertEqual(prob.values.reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertTrue(prob.values.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    func testNINCounts() throws {
        let g = try graph("nin/deploy.prototxt", batch: 1)
        // Layer by layer (weights + biases): conv1 96·3·121, cccp1/2 96·96, conv2 256·96·25, cccp3/4 256·256,
        // conv3 384·256·9, cccp5/6 384·384, conv4 1024·384·9, cccp7 1024·1024, cccp8 1000·1024.
        let layers: [(out: Int, inPerOut: Int)] = [(96, 363), (96, 96), (96, 96), (256, 2400), (256, 256), (256, 256),
            (384, 2304), (384, 384), (384, 384), (1024, 3456), (1024, 1024), (1000, 1024)]
        XCTAssertEqual(g.totalParams, layers.reduce(0) { $0 + $1.out * ($1.inPerOut + 1) })
        XCTAssertEqual(g.totalParams, 7_595_176)
        // Spatial sides: 54 (conv1 block), 27, 13, 6.
        let sides = [54, 54, 54, 27, 27, 27, 13, 13, 13, 6, 6, 6]
        XCTAssertEqual(g.totalMACs, zip(layers, sides).reduce(0) { $0 + $1.1 * $1.1 * $1.0.out * $1.0.inPerOut })
    }

    func testResNet50CountsAndForward() throws {
        let g = try graph("resnet50/deploy.prototxt")
        // 25,557,032 learned values: the published count for ResNet-50 (torchvision's resnet50, whose
        // BatchNorm weight and bias are Caffe's Scale). Caffe's BatchNorm adds its statistics as blobs:
        // mean and variance per channel, and one scale factor per layer (53 layers).
        let bnChannels = 64 + [(64, 3), (128, 4), (256, 6), (512, 3)].reduce(0) { $0 + $1.1 * 6 * $1.0 + 4 * $1.0 }
        XCTAssertEqual(bnChannels, 26_560)
        XCTAssertEqual(g.totalParams, 25_557_032 + 2 * bnChannels + 53)
        // The paper gives 3.8 × 10⁹ multiply-adds (Table 1).
        XCTAssertEqual(Double(g.totalMACs ?? 0), 3.8e9, accuracy: 0.1e9)
        XCTAssertEqual(g.layers.filter { $0.type == "Eltwise" }.count, 16)

        let net = try Net(graph: g)
        // Statistics as after training (mean 0, variance 1, factor 1): the fillers' zeros make Caffe's
        // BatchNorm divide by √eps in all 53 layers, which overflows, in Caffe as here.
        for l in net.layers where l.type == "BatchNorm" {
            l.params[1].set(Array(repeating: 1, count: l.params[1].count))
            l.params[2].set([1])
        }
        let data = net.blob("data")!
        var rng = RandomSource(seed: 5)
        for i in 0..<data.count { data.data[i] = rng.uniform(-1, 1) }
        try net.forward()
        let prob = net.blob("prob")!
        XCTAssertEqual(prob.shape, [1, 1000])
        XCTAssertEqual(prob.values.reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertTrue(prob.values.allSatisfy(\.isFinite))
    }

    func testGoogLeNetCounts() throws {
        let g = try graph("googlenet/deploy.prototxt", batch: 1)
        // The paper's Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj, at sides 28, 14 and 7.
        let modules: [(side: Int, n1: Int, r3: Int, n3: Int, r5: Int, n5: Int, pp: Int)] = [
            (28, 64, 96, 128, 16, 32, 32), (28, 128, 128, 192, 32, 96, 64),
            (14, 192, 96, 208, 16, 48, 64), (14, 160, 112, 224, 24, 64, 64), (14, 128, 128, 256, 24, 64, 64),
            (14, 112, 144, 288, 32, 64, 64), (14, 256, 160, 320, 32, 128, 128),
            (7, 256, 160, 320, 32, 128, 128), (7, 384, 192, 384, 48, 128, 128)]
        var cin = 192
        var params = 64 * (3 * 49 + 1) + 64 * (64 + 1) + 192 * (64 * 9 + 1)
        var macs = 112 * 112 * 64 * 147 + 56 * 56 * (64 * 64 + 192 * 64 * 9)
        for m in modules {
            params += (m.n1 + m.r3 + m.r5 + m.pp) * (cin + 1) + m.n3 * (m.r3 * 9 + 1) + m.n5 * (m.r5 * 25 + 1)
            macs += m.side * m.side * ((m.n1 + m.r3 + m.r5 + m.pp) * cin + m.n3 * m.r3 * 9 + m.n5 * m.r5 * 25)
            cin = m.n1 + m.n3 + m.n5 + m.pp
        }
        params += 1000 * (1024 + 1)
        macs += 1024 * 1000
        XCTAssertEqual(g.totalParams, params)
        XCTAssertEqual(g.totalParams, 6_998_552)
        XCTAssertEqual(g.totalMACs, macs)
        // The paper's Table 1 totals about 1.5 G multiply-adds.
        XCTAssertEqual(Double(macs), 1.5e9, accuracy: 0.1e9)

        // Inception's Concat of four branches and its padded 3×3/1 pooling run forward.
        let net = try Net(graph: g)
        let data = net.blob("data")!
        var rng = RandomSource(seed: 9)
        for i in 0..<data.count { data.data[i] = rng.uniform(-50, 50) }
        try net.forward()
        XCTAssertEqual(net.blob("inception_5b/output")!.shape, [1, 1024, 7, 7])
        XCTAssertEqual(net.blob("prob")!.values.reduce(0, +), 1, accuracy: 1e-4)
    }
}
