import Foundation
import XCTest
@testable import SwiftCaffe

/// The update rules, lr policies and solver checks against values worked
/// out by hand. The net: y = w·x with x = (1, 1), both weights 0.5, and a
/// Euclidean loss to the target 0, so loss = y²/2 and each weight's gradient
/// is g(w) = y·x_i = 2w. Both weights stay equal, so one scalar w is tracked.
final class SolverTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-solver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    static func scalarNet(lrMult: Double = 1, decayMult: Double = 1) -> String {
        """
        net_param {
          name: "scalar"
          layer { name: "x" type: "DummyData" top: "x"
                  dummy_data_param { shape { dim: 1 dim: 2 } data_filler { type: "constant" value: 1 } } }
          layer { name: "t" type: "DummyData" top: "t" dummy_data_param { shape { dim: 1 dim: 1 } } }
          layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" param { lr_mult: \(lrMult) decay_mult: \(decayMult) }
                  inner_product_param { num_output: 1 bias_term: false weight_filler { type: "constant" value: 0.5 } } }
          layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }
        }
        """
    }

    func solver(_ settings: String, net: String = scalarNet(), name: String = "solver.prototxt") throws -> Solver {
        let path = tmp.appendingPathComponent(name).path
        try (net + "\nmax_iter: 100\nsnapshot_after_train: false\n" + settings).write(toFile: path, atomically: true, encoding: .utf8)
        return try Solver(ModelFile.loadSolver(path: path))
    }

    func weight(_ s: Solver) -> [Float] { s.net.layers.first { $0.name == "ip" }!.params[0].values }

    /// Two steps of a rule; both weights must equal `expected`.
    func assertSteps(_ settings: String, _ expected: Double, steps: Int = 2, accuracy: Float = 2e-6,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try solver(settings)
        try s.step(steps)
        XCTAssertEqual(s.iteration, steps, file: file, line: line)
        for w in weight(s) { XCTAssertEqual(w, Float(expected), accuracy: accuracy, "\(settings)", file: file, line: line) }
    }

    func testSGDWithMomentum() throws {
        // V1 = 0.1·g(0.5) = 0.1, w1 = 0.4; V2 = 0.9·0.1 + 0.1·g(0.4) = 0.17, w2 = 0.23.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" momentum: 0.9", 0.23)
        // One step: w1 = 0.4.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" momentum: 0.9", 0.4, steps: 1)
    }

    func testNesterov() throws {
        // V1 = 0.1, update 1.9·0.1 = 0.19, w1 = 0.31; V2 = 0.09 + 0.062 = 0.152,
        // update 1.9·0.152 − 0.9·0.1 = 0.1988, w2 = 0.1112.
        try assertSteps("type: \"Nesterov\" base_lr: 0.1 lr_policy: \"fixed\" momentum: 0.9", 0.1112)
    }

    func testAdaGrad() throws {
        // H1 = 1, w1 = 0.5 − 0.1·1/1 = 0.4; H2 = 1 + 0.64 = 1.64, w2 = 0.4 − 0.1·0.8/√1.64 = 0.337530497.
        try assertSteps("type: \"AdaGrad\" base_lr: 0.1 lr_policy: \"fixed\"", 0.337530497)
    }

    func testRMSProp() throws {
        // H1 = 0.1·1 = 0.1, w1 = 0.5 − 0.1/√0.1 = 0.183772234; g2 = 0.367544468,
        // H2 = 0.09 + 0.1·g2² = 0.103508894, w2 = w1 − 0.1·g2/√H2 = 0.069531489.
        try assertSteps("type: \"RMSProp\" base_lr: 0.1 lr_policy: \"fixed\" rms_decay: 0.9", 0.069531489)
    }

    func testAdaDelta() throws {
        // ρ = 0.95, δ = 1e-6, rate 1: Hg1 = 0.05, u1 = √(1e-6 / 0.050001) = 0.004472091,
        // Hu1 = 0.05·u1² = 1e-6, w1 = 0.495527909; then Hg2 = 0.0475 + 0.05·g2²,
        // u2 = g2·√((Hu1 + δ)/(Hg2 + δ)), w2 = 0.491018718.
        try assertSteps("type: \"AdaDelta\" base_lr: 1 lr_policy: \"fixed\" momentum: 0.95 delta: 1e-6", 0.491018718)
    }

    func testAdam() throws {
        // t = 1: m = 0.1, v = 0.001, √(1 − β2)/(1 − β1) = 0.316228, update = 0.01·0.316228·0.1/0.0316228 = 0.01, w1 = 0.49;
        // t = 2: g2 = 0.98, m = 0.188, v = 0.001959... , w2 = 0.480005781.
        try assertSteps("type: \"Adam\" base_lr: 0.01 lr_policy: \"fixed\" momentum: 0.9 momentum2: 0.999 delta: 1e-8", 0.480005781)
    }

    func testRegularisationClippingAndMultipliers() throws {
        // L2: g = 1 + 0.1·0.5 = 1.05, w1 = 0.5 − 0.1·1.05 = 0.395.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" weight_decay: 0.1", 0.395, steps: 1)
        // L1: g = 1 + 0.1·sign(0.5) = 1.1, w1 = 0.39.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" weight_decay: 0.1 regularization_type: \"L1\"", 0.39, steps: 1)
        // Clip: the gradient (1, 1) has norm √2 > 0.5, scaled to 0.353553 each; w1 = 0.5 − 0.0353553.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" clip_gradients: 0.5", 0.4646447, steps: 1)
        // iter_size 2: gradients of two passes summed (2) then halved: as one pass, w1 = 0.4.
        try assertSteps("base_lr: 0.1 lr_policy: \"fixed\" iter_size: 2", 0.4, steps: 1)

        // lr_mult 2: w1 = 0.5 − 0.2·1 = 0.3; decay_mult 0 removes the decay: w1 = 0.4.
        let doubled = try solver("base_lr: 0.1 lr_policy: \"fixed\"", net: Self.scalarNet(lrMult: 2))
        try doubled.step(1)
        XCTAssertEqual(weight(doubled)[0], 0.3, accuracy: 1e-6)
        let undecayed = try solver("base_lr: 0.1 lr_policy: \"fixed\" weight_decay: 0.1", net: Self.scalarNet(decayMult: 0))
        try undecayed.step(1)
        XCTAssertEqual(weight(undecayed)[0], 0.4, accuracy: 1e-6)
    }

    func testLearningRatePolicies() throws {
        func rates(_ settings: String, _ iterations: [Int]) throws -> [Float] {
            let p = try solver(settings).parameter
            let schedule = LearningRateSchedule(p)
            var step = 0
            // Asked at every iteration, as the solver does (multistep advances once per call).
            var out: [Int: Float] = [:]
            for i in 0...iterations.max()! { out[i] = schedule.rate(at: i, currentStep: &step) }
            return iterations.map { out[$0]! }
        }
        func check(_ settings: String, _ iterations: [Int], _ expected: [Double], line: UInt = #line) throws {
            let got = try rates("base_lr: 0.01 " + settings, iterations)
            for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g), e, accuracy: e * 1e-6, settings, line: line) }
        }
        try check("lr_policy: \"fixed\"", [0, 1000], [0.01, 0.01])
        // step: 0.01 · 0.1^⌊iter/10⌋.
        try check("lr_policy: \"step\" gamma: 0.1 stepsize: 10", [9, 10, 25], [0.01, 0.001, 0.0001])
        // exp: 0.01 · 0.9^iter.
        try check("lr_policy: \"exp\" gamma: 0.9", [2], [0.0081])
        // inv: 0.01 · (1 + 1e-4·100)^−0.75 = 0.01 · 1.01^−0.75.
        try check("lr_policy: \"inv\" gamma: 0.0001 power: 0.75", [100], [0.00992565029])
        // multistep at 5 and 8, gamma 0.5.
        try check("lr_policy: \"multistep\" gamma: 0.5 stepvalue: 5 stepvalue: 8", [4, 5, 7, 8, 20], [0.01, 0.005, 0.005, 0.0025, 0.0025])
        // poly: 0.01 · (1 − 50/100)² (max_iter 100).
        try check("lr_policy: \"poly\" power: 2", [50], [0.0025])
        // sigmoid: 0.01 / (1 + e^(0.1·(iter − 10))).
        try check("lr_policy: \"sigmoid\" gamma: -0.1 stepsize: 10", [10, 20], [0.005, 0.00268941421])
    }

    func testSettingsThatCannotWorkAreNamedBeforeTraining() throws {
        func errors(_ settings: String) -> [String] {
            diagnostics { try self.solver(settings) }.map(\.message)
        }
        XCTAssertEqual(errors("base_lr: 0.1 lr_policy: \"poly\""), ["lr_policy \"poly\" needs power"])
        XCTAssertEqual(errors("base_lr: 0.1 lr_policy: \"step\" gamma: 0.1"), ["lr_policy \"step\" needs stepsize > 0, found 0"])
        XCTAssertEqual(errors("base_lr: 0.1 lr_policy: \"inv\" gamma: 0.1"),
                       ["lr_policy \"inv\" needs gamma and power (rate = base_lr * (1 + gamma*iter)^-power)"])
        XCTAssertEqual(errors("base_lr: 0.1"), ["lr_policy is not set (Caffe stops with 'Unknown learning rate policy'); use fixed, step, exp, inv, multistep, poly or sigmoid"])
        XCTAssertEqual(errors("base_lr: 0.1 lr_policy: \"fixed\" type: \"AdaGrad\" momentum: 0.9"),
                       ["momentum cannot be used with AdaGrad (Caffe refuses it); remove it"])
        XCTAssertEqual(errors("base_lr: 0.1 lr_policy: \"fixed\" snapshot_format: HDF5"),
                       ["snapshot_format HDF5 is not supported by SwiftCaffe; use BINARYPROTO (Caffe's default), which Caffe and OpenCV read"])
        let netFile = tmp.appendingPathComponent("train.prototxt").path
        try "name: \"x\"\nlayer { name: \"x\" type: \"DummyData\" top: \"x\" dummy_data_param { shape { dim: 1 } } }\n"
            .write(toFile: netFile, atomically: true, encoding: .utf8)
        let noTest = diagnostics { try self.solver("base_lr: 0.1 lr_policy: \"fixed\" test_iter: 10 test_interval: 5", net: "train_net: \"\(netFile)\"") }
        XCTAssertEqual(noTest.map(\.message), ["test_iter is given but there is no test net: the solver's net has no TEST-phase data, and no test_net is named"])
        XCTAssertEqual(noTest.first?.location?.line, 4)
        // GPU is a warning: training goes on, on the CPU.
        let s = try solver("base_lr: 0.1 lr_policy: \"fixed\" solver_mode: GPU")
        XCTAssertEqual(s.warnings.map(\.message), ["solver_mode GPU: SwiftCaffe runs on the CPU; training continues on the CPU"])
    }

    func testDivergenceNamesTheLayerAndGivesAHint() throws {
        // A huge rate: the weight overshoots by ×(1 − 2·lr) per step and overflows.
        let s = try solver("base_lr: 1e18 lr_policy: \"fixed\"")
        do {
            try s.step(20)
            XCTFail("expected divergence")
        } catch let CaffeError.diverged(message) {
            XCTAssertTrue(message.hasPrefix("training diverged at iteration "), message)
            XCTAssertTrue(message.contains("first non-finite value: "), message)
            XCTAssertTrue(message.contains("layer 'ip' (InnerProduct)") || message.contains("layer 'loss' (EuclideanLoss)"), message)
            XCTAssertTrue(message.contains("Lower base_lr (try 1e+17)"), message)
            // The weights are left as they were before the bad update.
            XCTAssertTrue(weight(s).allSatisfy { $0.isFinite })
        }
    }
}
