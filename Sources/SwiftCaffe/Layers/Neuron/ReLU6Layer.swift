import Foundation

/// MobileNet v2's ReLU6 (the Caffe ports' type "ReLU6", no parameters):
/// y = min(max(x, 0), 6); dx = dy where 0 < x < 6, else 0.
struct ReLU6Plan: NeuronPlan {
    static let type = "ReLU6"

    init(_ l: LayerParameter) throws {}
}

final class ReLU6Layer: NeuronLayer {
    override func forwardElement(_ x: Float) -> Float { x > 6 ? 6 : (x > 0 ? x : 0) }

    /// From y alone (0 < y < 6 exactly where 0 < x < 6), so in place needs no copy of x.
    override func backwardElement(x: Float, y: Float, dy: Float) -> Float { y > 0 && y < 6 ? dy : 0 }
}
