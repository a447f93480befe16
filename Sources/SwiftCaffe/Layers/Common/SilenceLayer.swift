/// Consumes blobs nobody else uses, so Caffe does not print them.
struct SilencePlan: LayerPlan {
    static let type = "Silence"
    static let bottoms = 1...Int.max
    static let tops = 0...0
    init(_ l: LayerParameter) throws {}
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: []) }
}

/// Takes blobs nobody reads; their gradient is zero.
final class SilenceLayer: Layer {
    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        for (i, b) in bottoms.enumerated() where propagateDown[i] { b.zeroDiff() }
    }
}
