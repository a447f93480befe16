import XCTest
@testable import SwiftCaffe

/// Models/ must be true to BVLC's AlexNet and CaffeNet.
final class ModelsTests: XCTestCase {
    private func layers(_ p: String) throws -> [LayerParameter] { try ModelFile.loadNet(path: Paths.model(p)).net.layers }

    /// The layer message without the fields that may legitimately differ.
    private func essence(_ l: LayerParameter, dropping: Set<Caffe.LayerParameter.Field> = []) -> ProtoMessage {
        var m = l.proto
        for f in dropping { m.clear(f) }
        if m.has(.convolutionParam) {
            m.update(.convolutionParam, as: Caffe.ConvolutionParameter.self) { $0.clear(.biasFiller) }
        }
        if m.has(.innerProductParam) {
            m.update(.innerProductParam, as: Caffe.InnerProductParameter.self) { $0.clear(.biasFiller) }
        }
        return m.message
    }

    func testAlexNetAndCaffeNetDifferOnlyInPoolNormOrderAndBiasFillers() throws {
        for file in ["train_val.prototxt", "deploy.prototxt"] {
            let alex = try layers("alexnet/" + file)
            let caffe = try layers("caffenet/" + file)
            XCTAssertEqual(alex.count, caffe.count, file)
            // Put CaffeNet's blocks 1-2 back in AlexNet's order: the same layers.
            var reordered = caffe
            for block in ["1", "2"] {
                let p = reordered.firstIndex { $0.name == "pool" + block }!
                let n = reordered.firstIndex { $0.name == "norm" + block }!
                XCTAssertEqual(n, p + 1, "CaffeNet: norm\(block) follows pool\(block)")
                reordered.swapAt(p, n)
            }
            XCTAssertEqual(alex.map(\.name), reordered.map(\.name), file)
            for (a, c) in zip(alex, reordered) {
                let rewired = ["pool1", "norm1", "pool2", "norm2", "conv2", "conv3"].contains(a.name)
                XCTAssertEqual(essence(a, dropping: rewired ? [.bottom] : []), essence(c, dropping: rewired ? [.bottom] : []), a.name)
            }
            // The wiring that makes the difference.
            func bottom(_ ls: [LayerParameter], _ n: String) -> String { ls.first { $0.name == n }!.bottoms[0] }
            XCTAssertEqual(["norm1", "pool1", "conv2"].map { bottom(alex, $0) }, ["conv1", "norm1", "pool1"])
            XCTAssertEqual(["pool1", "norm1", "conv2"].map { bottom(caffe, $0) }, ["conv1", "pool1", "norm1"])
            XCTAssertEqual(["norm2", "pool2", "conv3"].map { bottom(alex, $0) }, ["conv2", "norm2", "pool2"])
            XCTAssertEqual(["pool2", "norm2", "conv3"].map { bottom(caffe, $0) }, ["conv2", "pool2", "norm2"])
        }
        // Bias fillers: BVLC's AlexNet 0.1, CaffeNet 1 on conv2/4/5, fc6/7; 0 on conv1/3, fc8.
        let alex = try layers("alexnet/train_val.prototxt"), caffe = try layers("caffenet/train_val.prototxt")
        func bias(_ ls: [LayerParameter], _ n: String) -> Double {
            let l = ls.first { $0.name == n }!
            return l.proto.has(.convolutionParam) ? l.proto.convolutionParam.biasFiller.value : l.proto.innerProductParam.biasFiller.value
        }
        for n in ["conv2", "conv4", "conv5", "fc6", "fc7"] {
            XCTAssertEqual(bias(alex, n), Double(Float(0.1)), n)
            XCTAssertEqual(bias(caffe, n), 1, n)
        }
        for n in ["conv1", "conv3", "fc8"] { XCTAssertEqual(bias(alex, n), 0); XCTAssertEqual(bias(caffe, n), 0) }
    }

    func testAlexNetFactsInTheFiles() throws {
        let ls = try layers("alexnet/train_val.prototxt")
        func layer(_ n: String) -> Caffe.LayerParameter { ls.first { $0.name == n }!.proto }
        XCTAssertEqual(ls.first { $0.type == "Data" }?.proto.transformParam.cropSize, 227)
        XCTAssertEqual(["conv1", "conv2", "conv3", "conv4", "conv5"].map { layer($0).convolutionParam.group }, [1, 2, 1, 2, 2])
        for n in ["norm1", "norm2"] {
            XCTAssertTrue(layer(n).has(.lrnParam))
            let lrn = layer(n).lrnParam
            XCTAssertEqual([lrn.localSize], [5])
            XCTAssertEqual([lrn.alpha, lrn.beta, lrn.k], [Double(Float(1e-4)), 0.75, 1])
        }
        for n in ["pool1", "pool2", "pool5"] {
            let p = layer(n).poolingParam
            XCTAssertEqual([p.pool.name, String(p.kernelSize), String(p.stride)], ["MAX", "3", "2"])
        }
        XCTAssertEqual(["drop6", "drop7"].map { layer($0).dropoutParam.dropoutRatio }, [0.5, 0.5])
        XCTAssertEqual(layer("conv1").convolutionParam.weightFiller.std, Double(Float(0.01)))
        XCTAssertEqual(layer("fc6").innerProductParam.weightFiller.std, Double(Float(0.005)))
        XCTAssertEqual(ls.first { $0.name == "conv1" }?.params.map(\.lrMult), [1, 2])
        XCTAssertEqual(ls.first { $0.name == "conv1" }?.params.map(\.decayMult), [1, 0])

        for net in ["alexnet", "caffenet"] {
            let s = try ModelFile.loadSolver(path: Paths.model("\(net)/solver.prototxt")).solver
            XCTAssertEqual(Float(s.baseLR), 0.01)
            XCTAssertEqual(s.lrPolicy, .step)
            XCTAssertEqual(Float(s.gamma), 0.1)
            XCTAssertEqual(s.stepsize, 100_000)
            XCTAssertEqual(s.maxIter, 450_000)
            XCTAssertEqual(Float(s.momentum), 0.9)
            XCTAssertEqual(Float(s.weightDecay), 0.0005)
            XCTAssertEqual(s.snapshot, 10_000)
            XCTAssertEqual(s.testIter, [1000])
            XCTAssertEqual(s.testInterval, 1000)
            XCTAssertEqual(s.type, .sgd)
        }
    }

    func testCaffeNetHasAlexNetsTotals() throws {
        let a = try NetGraph.build(try ModelFile.loadNet(path: Paths.model("alexnet/deploy.prototxt")).net)
        let c = try NetGraph.build(try ModelFile.loadNet(path: Paths.model("caffenet/deploy.prototxt")).net)
        XCTAssertEqual(c.totalParams, 60_965_224)
        XCTAssertEqual(c.totalMACs, a.totalMACs)
        // LRN runs on the pooled maps in CaffeNet.
        XCTAssertEqual(c.layers.first { $0.name == "norm1" }?.topShapes, [[10, 96, 27, 27]])
        XCTAssertEqual(a.layers.first { $0.name == "norm1" }?.topShapes, [[10, 96, 55, 55]])
    }

    func testDeployMadeFromTrainValMatchesTheShippedDeploy() throws {
        for net in ["alexnet", "caffenet"] {
            let tv = try ModelFile.loadNet(path: Paths.model("\(net)/train_val.prototxt")).net
            let made = try DeployMaker.make(tv, inputShapes: ["data": [10, 3, 227, 227]])
            let g = try NetGraph.build(NetParameter(made.message))
            let shipped = try NetGraph.build(try ModelFile.loadNet(path: Paths.model("\(net)/deploy.prototxt")).net)
            XCTAssertEqual(g.layers.map(\.name), shipped.layers.map(\.name), net)
            XCTAssertEqual(g.layers.map(\.type), shipped.layers.map(\.type), net)
            XCTAssertEqual(g.layers.map(\.topShapes), shipped.layers.map(\.topShapes), net)
            XCTAssertEqual(g.totalParams, shipped.totalParams)
        }
        let tv = try ModelFile.loadNet(path: Paths.model("alexnet/train_val.prototxt")).net
        let batch1 = try DeployMaker.make(tv)
        XCTAssertEqual(NetParameter(batch1.message).layers[0].proto.inputParam.shape.last?.dim, [1, 3, 227, 227])
        XCTAssertTrue(batch1.notes.contains("dropped layer 'accuracy' (Accuracy) (reads labels)"))
    }
}
