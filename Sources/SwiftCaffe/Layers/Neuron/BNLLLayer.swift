import Foundation

/// log(1 + e^x)
struct BNLLPlan: NeuronPlan {
    static let type = "BNLL"
    init(_ l: LayerParameter) throws {}
}

/// y = log(1 + e^x), computed stably; dx = dy·e^x / (1 + e^x).
final class BNLLLayer: NeuronLayer {
    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { x > 0 ? x + log(1 + exp(-x)) : log(1 + exp(x)) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float {
        let e = exp(min(x, 50))
        return dy * e / (e + 1)
    }
}
