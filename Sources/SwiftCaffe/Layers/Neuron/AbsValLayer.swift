import Foundation

struct AbsValPlan: NeuronPlan {
    static let type = "AbsVal"
    init(_ l: LayerParameter) throws {}
}

/// y = |x|; dx = dy·sign(x).
final class AbsValLayer: NeuronLayer {
    override var backwardReadsBottom: Bool { true }
    override func forwardElement(_ x: Float) -> Float { abs(x) }
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { x > 0 ? dy : (x < 0 ? -dy : 0) }
}
