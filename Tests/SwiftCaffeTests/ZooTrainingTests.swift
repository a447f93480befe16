import Foundation
import XCTest
@testable import SwiftCaffe

/// The training files of the classic nets: each train_val builds in both
/// phases with the structure its paper gives, the solver file reads, and a
/// few iterations of the real solver on the real train_val (only the data
/// source, batch size and iter_size changed) give a finite, falling loss.
final class ZooTrainingTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-zoo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// One random side×side colour image with label 7, in an LMDB; a mean file of the same size.
    func writeData(side: Int) throws -> (lmdb: String, mean: String) {
        let lmdb = tmp.appendingPathComponent("images_lmdb").path
        var rng = RandomSource(seed: 11)
        let pixels = (0..<(3 * side * side)).map { _ in UInt8(rng.uniform(0, 255.99)) }
        let writer = try LMDBWriter(path: lmdb)
        try writer.put(key: "00000000", value: Datum(channels: 3, height: side, width: side, label: 7, pixels: pixels).serialized())
        try writer.close()
        let mean = tmp.appendingPathComponent("mean.binaryproto").path
        try MeanImage(channels: 3, height: side, width: side, values: Array(repeating: 120, count: 3 * side * side)).write(binaryproto: mean)
        return (lmdb, mean)
    }

    /// The net's solver and train_val, rewritten into tmp to read the one-image LMDB at batch 1.
    func solver(_ net: String, side: Int) throws -> Solver {
        let (lmdb, mean) = try writeData(side: side)
        var trainVal = Caffe.NetParameter(try ModelFile.loadNet(path: Paths.model("\(net)/train_val.prototxt")).message)
        var layers = trainVal.layer
        for i in layers.indices where layers[i].type == "Data" {
            layers[i].update(.dataParam, as: Caffe.DataParameter.self) { $0.set(.source, .string(lmdb)); $0.set(.batchSize, .uint(1)) }
            layers[i].update(.transformParam, as: Caffe.TransformationParameter.self) {
                if $0.has(.meanFile) { $0.set(.meanFile, .string(mean)) }
            }
        }
        trainVal.set(.layer, values: layers.map { .message($0.message) })
        let trainValPath = tmp.appendingPathComponent("train_val.prototxt").path
        try PrototxtPrinter.print(trainVal.message).write(toFile: trainValPath, atomically: true, encoding: .utf8)

        var s = Caffe.SolverParameter(try ModelFile.loadSolver(path: Paths.model("\(net)/solver.prototxt")).message)
        s.set(.net, .string(trainValPath))
        s.set(.iterSize, .int(1))
        s.set(.testIter, values: [.int(1)])
        s.set(.snapshotPrefix, .string(tmp.appendingPathComponent(net).path))
        let solverPath = tmp.appendingPathComponent("solver.prototxt").path
        try PrototxtPrinter.print(s.message).write(toFile: solverPath, atomically: true, encoding: .utf8)
        return try Solver(ModelFile.loadSolver(path: solverPath))
    }

    final class Losses: SolverObserver {
        var values: [Float] = []
        func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float) { values.append(loss) }
    }

    /// Runs `iterations` steps; the loss must stay finite and end lower than it began.
    @discardableResult
    func trainBriefly(_ net: String, side: Int, iterations: Int = 6, file: StaticString = #filePath, line: UInt = #line) throws -> Solver {
        let s = try solver(net, side: side)
        let losses = Losses()
        s.observers.append(losses)
        try s.step(iterations)
        XCTAssertEqual(losses.values.count, iterations, net, file: file, line: line)
        XCTAssertTrue(losses.values.allSatisfy(\.isFinite), "\(net): \(losses.values)", file: file, line: line)
        let first = losses.values.prefix(2).reduce(0, +) / 2, last = losses.values.suffix(2).reduce(0, +) / 2
        XCTAssertLessThan(last, first - 0.05, "\(net): loss did not fall: \(losses.values)", file: file, line: line)
        return s
    }

    func lossWeights(_ n: Net) -> [String: Float] {
        Dictionary(uniqueKeysWithValues: Solver.outputs(of: n).filter { $0.lossWeight != 0 }.map { ($0.name, $0.lossWeight) })
    }

    func testGoogLeNetTrainsWithItsTwoAuxiliaryLosses() throws {
        let s = try trainBriefly("googlenet", side: 224)
        // The paper's auxiliary classifiers count 0.3 each; the main one 1.
        XCTAssertEqual(lossWeights(s.net), ["loss1/loss1": 0.3, "loss2/loss2": 0.3, "loss3/loss3": 1])
        // TEST adds top-1 and top-5 accuracy per head; the solver's settings are BVLC's.
        let tested = try s.test(net: 0).map(\.name)
        XCTAssertEqual(Set(tested), ["loss1/loss1", "loss1/top-1", "loss1/top-5", "loss2/loss2", "loss2/top-1", "loss2/top-5",
                                     "loss3/loss3", "loss3/top-1", "loss3/top-5"])
        let p = s.parameter
        XCTAssertEqual([Float(p.baseLR), Float(p.gamma), Float(p.weightDecay)], [0.01, 0.96, 0.0002])
        XCTAssertEqual([p.stepsize, p.averageLoss], [320_000, 40])
    }

    func testResNet50UsesBatchStatisticsInTrainAndStoredOnesInTest() throws {
        let s = try trainBriefly("resnet50", side: 224, iterations: 5)
        // Each training forward updates the 53 BatchNorm layers' moving averages (the factor
        // blob counts the updates: 1 + 0.999 + ... for 5 iterations); the test net reads them.
        let bn = try XCTUnwrap(s.net.layers.first { $0.type == "BatchNorm" })
        XCTAssertEqual(s.net.layers.filter { $0.type == "BatchNorm" }.count, 53)
        let expected = (0..<5).reduce(Float(0)) { acc, _ in acc * 0.999 + 1 }
        XCTAssertEqual(bn.params[2].values[0], expected, accuracy: 1e-4)
        let testBN = try XCTUnwrap(s.testNets[0].layers.first { $0.name == bn.name })
        XCTAssertEqual(testBN.params[2].values, bn.params[2].values, "the test net shares the statistics")
        _ = try s.test(net: 0)
        XCTAssertEqual(testBN.params[2].values[0], expected, accuracy: 1e-4, "TEST must not update the statistics")
    }

    func testSqueezeNetTrainsFromDeepScalesSolver() throws {
        let s = try trainBriefly("squeezenet", side: 227)
        XCTAssertEqual(s.parameter.lrPolicy, .poly)
        XCTAssertEqual(Set(s.testNets[0].layers.filter { $0.type == "Accuracy" }.map(\.name)), ["accuracy", "accuracy_top5"])
    }

    func testNINTrainsWithItsMeanFile() throws {
        try trainBriefly("nin", side: 224)
    }

    func testVGG16Trains() throws {
        try trainBriefly("vgg16", side: 224, iterations: 4)
    }

    func testDeployMadeFromEachTrainValMatchesTheShippedDeploy() throws {
        for net in ["vgg16", "squeezenet", "nin", "resnet50", "googlenet"] {
            let tv = try ModelFile.loadNet(path: Paths.model("\(net)/train_val.prototxt")).net
            let shipped = try NetGraph.build(try ModelFile.loadNet(path: Paths.model("\(net)/deploy.prototxt")).net)
            let side = net == "squeezenet" ? 227 : 224
            let made = try DeployMaker.make(tv, inputShapes: ["data": [shipped.batchSize, 3, side, side]])
            let g = try NetGraph.build(NetParameter(made.message))
            // GoogLeNet's auxiliary heads exist for training only: the deploy keeps the main head (loss_weight 1).
            let kept = g.layers
            if net == "googlenet" { XCTAssertTrue(made.notes.contains("dropped layer 'loss1/classifier' (InnerProduct) (it feeds only dropped layers)"), "\(made.notes)") }
            XCTAssertEqual(kept.map { $0.name }, shipped.layers.map { $0.name }, net)
            XCTAssertEqual(kept.map { $0.type }, shipped.layers.map { $0.type }, net)
            XCTAssertEqual(kept.map { $0.topShapes }, shipped.layers.map { $0.topShapes }, net)
        }
    }
}
