import Foundation

struct TanHPlan: NeuronPlan {
    static let type = "TanH"
    init(_ l: LayerParameter) throws {}
}

/// y = tanh(x); dx = dy·(1 − y²).
final class TanHLayer: NeuronLayer {
    override func forwardElement(_ x: Float) -> Float { tanh(x) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy * (1 - y * y) }
}
