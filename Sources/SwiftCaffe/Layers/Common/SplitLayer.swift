/// Copies one blob to several consumers (inserted by the net builder).
struct SplitPlan: LayerPlan {
    static let type = "Split"
    static let bottoms = 1...1
    static let tops = 1...Int.max
    let n: Int
    init(_ l: LayerParameter) throws { n = l.tops.count }
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: Array(repeating: b[0], count: n)) }
}

/// Gives its bottom's values to every top: shared by the net for the Splits
/// it inserts (GraphLayer.sharesBottomData), copied for those written in the
/// prototxt; dx = Σ dy over the tops.
final class SplitLayer: Layer {
    override var passesBottomThrough: Bool { true }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        for t in tops where !t.sharesData(with: bottoms[0]) { t.data.update(from: bottoms[0].data, count: bottoms[0].count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let dx = bottoms[0].diff, n = bottoms[0].count
        dx.update(from: tops[0].diff, count: n)
        for t in tops.dropFirst() { BLAS.axpy(n, 1, t.diff, dx) }
    }
}
