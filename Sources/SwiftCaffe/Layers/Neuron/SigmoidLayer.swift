import Foundation

/// 1 / (1 + e^−x)
struct SigmoidPlan: NeuronPlan {
    static let type = "Sigmoid"
    init(_ l: LayerParameter) throws {}
}

/// y = 1 / (1 + e^−x); dx = dy·y·(1 − y).
final class SigmoidLayer: NeuronLayer {
    override func forwardElement(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * y * (1 - y) }
}
