/// SENet's Axpy (hujie-frank/SENet): bottoms a (N×C×1×1, or N×C), x and y
/// (both N×C×H×W); top = a·x + y, each channel of x scaled by its a. It
/// replaces an SE block's Scale and Eltwise sum with one layer.
struct AxpyPlan: LayerPlan {
    static let type = "Axpy"
    static let bottoms = 3...3
    static let tops = 1...1

    init(_ l: LayerParameter) throws {}

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let (a, x, y) = (b[0], b[1], b[2])
        guard x == y else { throw PlanError("Axpy's x and y must have one shape, found \(describe(x)) and \(describe(y))") }
        guard x.count >= 2, a.count >= 2, a[0] == x[0], a[1] == x[1], a.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw PlanError("Axpy's first bottom must be N×C×1×1 for an N×C×... x, found \(describe(a)) for \(describe(x))")
        }
        return PlannedShapes(tops: [x])
    }
}

/// top = a·x + y; dx = a·dy, dy_y = dy, da = Σ over the plane of dy·x.
final class AxpyLayer: Layer {
    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (a, x, y, out) = (bottoms[0].data, bottoms[1].data, bottoms[2].data, tops[0].data)
        let planes = bottoms[0].count, plane = bottoms[1].count / max(planes, 1)
        for p in 0..<planes {
            let s = a[p], base = p * plane
            for i in base..<(base + plane) { out[i] = s * x[i] + y[i] }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let dy = tops[0].diff, x = bottoms[1].data, a = bottoms[0].data
        let planes = bottoms[0].count, plane = bottoms[1].count / max(planes, 1)
        if propagateDown[0] {
            for p in 0..<planes {
                var s: Float = 0
                for i in (p * plane)..<((p + 1) * plane) { s += dy[i] * x[i] }
                bottoms[0].diff[p] = s
            }
        }
        if propagateDown[1] {
            let dx = bottoms[1].diff
            for p in 0..<planes { for i in (p * plane)..<((p + 1) * plane) { dx[i] = a[p] * dy[i] } }
        }
        if propagateDown[2], bottoms[2].diff != dy { bottoms[2].diff.update(from: dy, count: bottoms[2].count) }
    }
}
