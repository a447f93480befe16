/// Takes blobs nobody reads; their gradient is zero.
final class SilenceLayer: Layer {
    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        for (i, b) in bottoms.enumerated() where propagateDown[i] { b.zeroDiff() }
    }
}
