import Foundation

/// The learning rate at an iteration, by Caffe's `lr_policy` formulas
/// (solver.cpp's GetLearningRate). `step` and `multistep` also keep
/// `currentStep`, which a solver state records; multistep advances it at most
/// once per call, as Caffe does, so it must be asked every iteration.
public struct LearningRateSchedule: Sendable {
    public let policy: LearningRatePolicy
    // Caffe's fields are proto floats: the values are rounded to Float first
    // so the rates match Caffe's to the last bit.
    let baseLR: Double, gamma: Double, power: Double
    let stepsize: Int, stepvalues: [Int], maxIter: Int

    public init(_ p: SolverParameter) {
        policy = p.lrPolicy ?? .fixed
        baseLR = Double(Float(p.baseLR))
        gamma = Double(Float(p.gamma))
        power = Double(Float(p.power))
        stepsize = p.stepsize
        stepvalues = p.stepvalues
        maxIter = p.maxIter
    }

    /// The rate for `iteration`; updates `currentStep` for step and multistep.
    public func rate(at iteration: Int, currentStep: inout Int) -> Float {
        let it = Double(iteration)
        switch policy {
        case .fixed:
            return Float(baseLR)
        case .step:
            currentStep = iteration / stepsize
            return Float(baseLR * pow(gamma, Double(currentStep)))
        case .exp:
            return Float(baseLR * pow(gamma, it))
        case .inv:
            return Float(baseLR * pow(1 + gamma * it, -power))
        case .multistep:
            if currentStep < stepvalues.count, iteration >= stepvalues[currentStep] { currentStep += 1 }
            return Float(baseLR * pow(gamma, Double(currentStep)))
        case .poly:
            return Float(baseLR * pow(1 - it / Double(maxIter), power))
        case .sigmoid:
            return Float(baseLR * (1 / (1 + exp(-gamma * (it - Double(stepsize))))))
        }
    }
}
