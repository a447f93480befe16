import Foundation

/// Siamese loss over two feature blobs and a similarity label.
struct ContrastiveLossPlan: LayerPlan {
    static let type = "ContrastiveLoss"
    static let isLoss = true
    static let bottoms = 3...3
    static let tops = 1...1
    let margin: Float
    let legacy: Bool

    init(_ l: LayerParameter) throws {
        let p = l.proto.contrastiveLossParam
        margin = Float(p.margin)
        legacy = p.legacyVersion
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0] == b[1] else { throw PlanError("the two feature bottoms must match: \(describe(b[0])) vs \(describe(b[1]))") }
        guard let n = b[0].first, count(b[2]) == n else {
            throw PlanError("the label bottom needs one value per pair (\(b[0].first ?? 0)), found \(describe(b[2]))")
        }
        return PlannedShapes(tops: [[]])
    }
}

/// Caffe's ContrastiveLoss (Hadsell, Chopra and LeCun 2006): for pairs
/// (a_i, b_i) at distance d_i with label y_i (non-zero: similar),
/// loss = Σ [y_i·d_i² + (1 − y_i)·max(margin − d_i, 0)²] / 2N; with
/// legacy_version, Caffe's first form: max(margin − d_i², 0) for dissimilar
/// pairs. Backward as Caffe's, which adds 1e-4 to d_i in the dissimilar term.
final class ContrastiveLossLayer: Layer {
    private let margin: Float
    private let legacy: Bool
    private let difference = Blob()
    private var squaredDistances: [Float] = []

    required init(_ ctx: LayerContext) throws {
        let p = ctx.plan(ContrastiveLossPlan.self)
        margin = p.margin
        legacy = p.legacy
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom < 2 }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(difference, to: bottoms[0].shape, what: "its difference buffer")
        squaredDistances = Array(repeating: 0, count: bottoms[0].dim(0))
    }

    private func isSimilar(_ labels: UnsafeMutablePointer<Float>, _ i: Int) throws -> Bool {
        try classLabel(labels[i], at: i) != 0
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let n = bottoms[0].dim(0), c = bottoms[0].count / max(1, n)
        let a = bottoms[0].data, b = bottoms[1].data, d = difference.data
        var loss: Float = 0
        for i in 0..<n {
            var sq: Float = 0
            for k in i * c..<(i + 1) * c {
                d[k] = a[k] - b[k]
                sq += d[k] * d[k]
            }
            squaredDistances[i] = sq
            if try isSimilar(bottoms[2].data, i) {
                loss += sq
            } else if legacy {
                loss += max(margin - sq, 0)
            } else {
                let m = max(margin - sq.squareRoot(), 0)
                loss += m * m
            }
        }
        tops[0].data[0] = loss / Float(max(1, n)) / 2
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[2] { throw fail("cannot backpropagate to the similarity label input") }
        let n = bottoms[0].dim(0), c = bottoms[0].count / max(1, n), d = difference.data
        for j in 0..<2 where propagateDown[j] {
            let alpha = (j == 0 ? 1 : -1) * tops[0].diff[0] / Float(max(1, n))
            let out = bottoms[j].diff
            for i in 0..<n {
                let sq = squaredDistances[i]
                var factor: Float
                if try isSimilar(bottoms[2].data, i) {
                    factor = alpha
                } else if legacy {
                    factor = margin - sq > 0 ? -alpha : 0
                } else {
                    let dist = sq.squareRoot()
                    let m = margin - dist
                    factor = m > 0 ? -alpha * m / (dist + 1e-4) : 0
                }
                for k in i * c..<(i + 1) * c { out[k] = factor * d[k] }
            }
        }
    }
}
