import Foundation
import XCTest
@testable import SwiftCaffe

/// Whole training runs on the tiny IDX fixture: snapshots and resume, the
/// solver state file, test nets sharing weights, and the metrics file.
final class TrainingTests: XCTestCase {
    var tmp: URL!
    var savedThreads = 1

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        savedThreads = Parallel.threads
        // Bit-identical results are promised with one thread.
        Parallel.threads = 1
    }

    override func tearDownWithError() throws {
        Parallel.threads = savedThreads
        try? FileManager.default.removeItem(at: tmp)
    }

    /// A small conv net with dropout and random crops on the tiny IDX data.
    var netText: String {
        let source = Paths.fixture("idx/tiny-images-idx3-ubyte.gz")
        return """
        net_param {
          name: "tiny"
          layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TRAIN }
                  transform_param { scale: 0.00390625 crop_size: 5 mirror: true } data_param { source: "\(source)" batch_size: 6 } }
          layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TEST }
                  transform_param { scale: 0.00390625 crop_size: 5 } data_param { source: "\(source)" batch_size: 10 } }
          layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
                  convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
          layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
          layer { name: "drop" type: "Dropout" bottom: "conv" top: "conv" dropout_param { dropout_ratio: 0.3 } }
          layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip" inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
          layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "accuracy" include { phase: TEST } }
          layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
        }
        """
    }

    func solver(_ settings: String, type: String = "SGD") throws -> Solver {
        let path = tmp.appendingPathComponent("solver.prototxt").path
        try (netText + """

        type: "\(type)" base_lr: 0.05 lr_policy: "multistep" gamma: 0.5 stepvalue: 3 stepvalue: 7 momentum: 0.9 weight_decay: 0.001
        max_iter: 10 random_seed: 5 snapshot_prefix: "\(tmp.path)/run"
        \(settings)
        """).write(toFile: path, atomically: true, encoding: .utf8)
        return try Solver(ModelFile.loadSolver(path: path))
    }

    final class LossRecorder: SolverObserver {
        var losses: [Int: Float] = [:]
        var lines: [String] = []
        func solver(_ s: Solver, finishedIteration iteration: Int, loss: Float) { losses[iteration] = loss }
        func solver(_ s: Solver, log line: String, from origin: LogOrigin) { lines.append(line) }
    }

    func testResumedRunMatchesAnUninterruptedOneBitForBit() throws {
        let whole = try solver("snapshot: 5 snapshot_after_train: false")
        let all = LossRecorder()
        whole.observers.append(all)
        try whole.solve()
        XCTAssertEqual(whole.iteration, 10)
        XCTAssertEqual(whole.snapshots.map { ($0.model as NSString).lastPathComponent }, ["run_iter_5.caffemodel", "run_iter_10.caffemodel"])

        let resumed = try solver("snapshot: 5 snapshot_after_train: false", type: "SGD")
        let after = LossRecorder()
        resumed.observers.append(after)
        try resumed.restore(from: tmp.appendingPathComponent("run_iter_5.solverstate").path)
        XCTAssertEqual(resumed.iteration, 5)
        XCTAssertEqual(resumed.currentStep, 1, "multistep passed stepvalue 3 before the snapshot")
        try resumed.solve()
        for i in 6...10 {
            XCTAssertEqual(after.losses[i]?.bitPattern, all.losses[i]?.bitPattern, "loss after iteration \(i)")
        }
        for (a, b) in zip(whole.net.learnableParams, resumed.net.learnableParams) {
            XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern))
        }
    }

    func testSolverStateFileAndTypeCheck() throws {
        let s = try solver("snapshot_after_train: true", type: "Adam")
        try s.solve(maxIterations: 4)
        let statePath = tmp.appendingPathComponent("run_iter_4.solverstate").path
        let state = try SolverState.read(path: statePath)
        XCTAssertEqual(state.iteration, 4)
        XCTAssertEqual(state.currentStep, 1)
        XCTAssertEqual(state.solverType, "Adam")
        XCTAssertEqual(state.learnedNet, tmp.appendingPathComponent("run_iter_4.caffemodel").path)
        // Adam keeps two history blobs per parameter (conv W, b; ip W, b).
        XCTAssertEqual(state.history.map(\.shape), [[4, 1, 3, 3], [4], [4, 36], [4], [4, 1, 3, 3], [4], [4, 36], [4]])
        XCTAssertEqual(state.dataBatches, [4])
        // The weights file is a V2 caffemodel that loads back.
        let model = try CaffeModel(path: state.learnedNet)
        XCTAssertEqual(model.layers.map(\.name), ["conv", "ip"])

        let sgd = try solver("", type: "SGD")
        XCTAssertThrowsError(try sgd.restore(from: statePath)) {
            XCTAssertEqual("\($0)", "\(statePath): error: this state was written by the Adam solver, but the solver file asks for SGD; "
                           + "their histories mean different things. Resume with type: \"Adam\", or pass --force")
        }
        XCTAssertThrowsError(try sgd.restore(from: state.learnedNet)) {
            XCTAssertEqual("\($0)", "\(state.learnedNet): error: this is a .caffemodel (net weights), not a .solverstate; "
                           + "to start training from these weights use --weights \(state.learnedNet)")
        }
    }

    func testTestNetSharesTrainedWeightsAndAveragesOutputs() throws {
        let s = try solver("test_iter: 4 test_interval: 5 test_initialization: true snapshot_after_train: false")
        let log = LossRecorder()
        s.observers.append(log)
        XCTAssertEqual(s.testNets.count, 1)
        let trainIP = s.net.layers.first { $0.name == "ip" }!.params[0]
        let testIP = s.testNets[0].layers.first { $0.name == "ip" }!.params[0]
        XCTAssertTrue(trainIP === testIP, "the test net reads the train net's blob")
        try s.solve()
        let tests = log.lines.filter { $0.hasPrefix("Iteration") && $0.contains("Testing net (#0)") }
        XCTAssertEqual(tests, ["Iteration 0, Testing net (#0)", "Iteration 5, Testing net (#0)", "Iteration 10, Testing net (#0)"])
        let accuracy = log.lines.filter { $0.hasPrefix("    Test net output #0: accuracy = ") }
        XCTAssertEqual(accuracy.count, 3)
        // 4 batches of 10 = all 40 records; accuracy is a multiple of 1/40.
        let value = Float(accuracy.last!.split(separator: " ").last!)!
        XCTAssertEqual((value * 40).rounded(), value * 40, accuracy: 1e-4)
        XCTAssertTrue(log.lines.contains("Optimization Done."))
    }
}
