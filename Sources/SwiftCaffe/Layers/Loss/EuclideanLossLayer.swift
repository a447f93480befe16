/// ½N · Σ (a − b)²
struct EuclideanLossPlan: PairLossPlan {
    static let type = "EuclideanLoss"
    init(_ l: LayerParameter) throws {}
}

/// loss = Σ (a − b)² / 2N with N = the first axis; da = (a − b)·dloss/N, db = −da.
/// An empty batch has loss 0 (N is taken as at least 1, where Caffe divides 0 by 0).
final class EuclideanLossLayer: Layer {
    private let difference = Blob()

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(difference, to: bottoms[0].shape, what: "its difference buffer")
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let n = bottoms[0].count, d = difference.data, a = bottoms[0].data, b = bottoms[1].data
        for i in 0..<n { d[i] = a[i] - b[i] }
        tops[0].data[0] = BLAS.dot(n, d, d) / Float(max(1, bottoms[0].dim(0))) / 2
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let n = bottoms[0].count, scale = tops[0].diff[0] / Float(max(1, bottoms[0].dim(0)))
        for (j, b) in bottoms.enumerated() where propagateDown[j] {
            let s = j == 0 ? scale : -scale
            for i in 0..<n { b.diff[i] = s * difference.data[i] }
        }
    }
}
