import Foundation

/// Settings that cannot work, found before the first iteration rather than
/// by Caffe's CHECK failures (or silently wrong rates) hours into a run. Each
/// problem names the solver field it comes from.
public enum SolverCheck {
    /// Errors and warnings for a solver with `testNetCount` test nets.
    public static func problems(_ s: SolverParameter, testNetCount: Int) -> [Diagnostic] {
        var f = Findings(s)
        f.checkSchedule()
        f.checkSettings()
        f.checkUpdateRule()
        f.checkTests(testNetCount: testNetCount)
        return f.out
    }

    private struct Findings {
        let s: SolverParameter
        let m: Caffe.SolverParameter
        var out: [Diagnostic] = []

        init(_ s: SolverParameter) {
            self.s = s
            m = s.proto
        }

        // A missing field has no location: point at the lr_policy that needs it.
        mutating func error(_ field: Caffe.SolverParameter.Field, _ text: String) {
            out.append(Diagnostic(.error, text, at: m.location(of: m.has(field) ? field : .lrPolicy)))
        }

        mutating func warning(_ field: Caffe.SolverParameter.Field, _ text: String) {
            out.append(Diagnostic(.warning, text, at: m.location(of: m.has(field) ? field : .lrPolicy)))
        }

        /// The learning-rate policy and the fields it needs.
        mutating func checkSchedule() {
            if s.lrPolicy == nil {
                error(.lrPolicy, "lr_policy is not set (Caffe stops with 'Unknown learning rate policy'); use fixed, step, exp, inv, multistep, poly or sigmoid")
            }
            if !m.has(.baseLr) { error(.baseLr, "base_lr is not set; the learning rate would be 0 and nothing would learn") }
            else if !(s.baseLR > 0) { error(.baseLr, "base_lr must be > 0, found \(s.baseLR)") }
            switch s.lrPolicy {
            case .step?:
                if s.stepsize <= 0 { error(.stepsize, "lr_policy \"step\" needs stepsize > 0, found \(s.stepsize)") }
                if !m.has(.gamma) { warning(.gamma, "lr_policy \"step\" without gamma: Caffe's default gamma is 0, so the rate drops to 0 at the first step") }
            case .exp?:
                if !m.has(.gamma) { error(.gamma, "lr_policy \"exp\" needs gamma (rate = base_lr * gamma^iter)") }
            case .inv?:
                if !m.has(.gamma) || !m.has(.power) {
                    error(m.has(.gamma) ? .power : .gamma, "lr_policy \"inv\" needs gamma and power (rate = base_lr * (1 + gamma*iter)^-power)")
                }
            case .multistep?:
                if s.stepvalues.isEmpty { error(.lrPolicy, "lr_policy \"multistep\" needs at least one stepvalue") }
                if zip(s.stepvalues, s.stepvalues.dropFirst()).contains(where: { $0 >= $1 }) {
                    error(.stepvalue, "stepvalue entries must increase, found \(s.stepvalues.map(String.init).joined(separator: ", "))")
                }
                if !m.has(.gamma) { warning(.gamma, "lr_policy \"multistep\" without gamma: the rate drops to 0 at the first stepvalue") }
            case .poly?:
                if s.maxIter <= 0 { error(.maxIter, "lr_policy \"poly\" needs max_iter > 0 (rate = base_lr * (1 - iter/max_iter)^power)") }
                if !m.has(.power) { error(.power, "lr_policy \"poly\" needs power") }
            case .sigmoid?:
                if !m.has(.gamma) || !m.has(.stepsize) {
                    error(m.has(.gamma) ? .stepsize : .gamma, "lr_policy \"sigmoid\" needs gamma and stepsize (rate = base_lr / (1 + exp(-gamma*(iter - stepsize))))")
                }
            case .fixed?, nil:
                break
            }
        }

        mutating func checkSettings() {
            if s.maxIter <= 0 { error(.maxIter, "max_iter must be > 0, found \(s.maxIter)") }
            if s.iterSize < 1 { error(.iterSize, "iter_size must be >= 1, found \(s.iterSize)") }
            if s.averageLoss < 1 { error(.averageLoss, "average_loss must be >= 1, found \(s.averageLoss)") }
            if s.display < 0 { error(.display, "display must be >= 0, found \(s.display)") }
            if s.snapshot < 0 { error(.snapshot, "snapshot must be >= 0, found \(s.snapshot)") }
            if s.weightDecay < 0 { error(.weightDecay, "weight_decay must be >= 0, found \(s.weightDecay)") }
            if s.snapshotFormat == .hdf5 {
                error(.snapshotFormat, "snapshot_format HDF5 is not supported by SwiftCaffe; use BINARYPROTO (Caffe's default), which Caffe and OpenCV read")
            }
            if s.solverMode == .gpu { warning(.solverMode, "solver_mode GPU: SwiftCaffe runs on the CPU; training continues on the CPU") }
        }

        /// Fields the update rule (solver type) needs or refuses.
        mutating func checkUpdateRule() {
            switch s.type {
            case .adaGrad, .rmsProp:
                if s.momentum != 0 { error(.momentum, "momentum cannot be used with \(s.type.rawValue) (Caffe refuses it); remove it") }
                if s.type == .rmsProp, !(0...1).contains(s.rmsDecay) { error(.rmsDecay, "rms_decay must be in [0, 1], found \(s.rmsDecay)") }
            case .adaDelta:
                if !m.has(.momentum) { warning(.momentum, "AdaDelta uses momentum as its decay; it is 0 here, so only the last gradient counts (Caffe's examples use 0.95)") }
            case .sgd, .nesterov, .adam:
                if !(0..<1).contains(s.momentum) { warning(.momentum, "momentum \(s.momentum) is outside [0, 1): the updates will grow without bound") }
            }
        }

        /// One test_iter per test net.
        mutating func checkTests(testNetCount: Int) {
            if testNetCount == 0 {
                if !s.testIter.isEmpty {
                    error(.testIter, "test_iter is given but there is no test net: the solver's net has no TEST-phase data, and no test_net is named")
                }
                if s.testInterval > 0, s.testIter.isEmpty, m.has(.testInterval) {
                    warning(.testInterval, "test_interval is set but there is no test net; no testing will happen")
                }
            } else {
                if s.testIter.count != testNetCount {
                    error(.testIter, "\(testNetCount) test net(s) need \(testNetCount) test_iter value(s), found \(s.testIter.count)")
                }
                for (i, n) in s.testIter.enumerated() where n <= 0 {
                    error(.testIter, "test_iter #\(i) must be > 0, found \(n)")
                }
                if s.testInterval <= 0 { warning(.testInterval, "test_interval is 0: the test net(s) will never run during training") }
            }
        }
    }
}
