/// The blocks of `parts` laid side by side along `axis` of `whole` (Concat's
/// bottoms in its top, Slice's tops in its bottom): body(part, outer index,
/// offset in `whole`, values per block); part p's block o starts at o·n.
func forEachBlock(of parts: [Blob], in whole: Blob, axis: Int, _ body: (Int, Int, Int, Int) -> Void) throws {
    let a = try canonicalAxis(axis, whole.numAxes)
    let outer = whole.count(from: 0, to: a), inner = whole.count(from: a + 1), wholeAxis = whole.dim(a)
    var offset = 0
    for (i, p) in parts.enumerated() {
        let block = p.dim(a) * inner
        for o in 0..<outer { body(i, o, (o * wholeAxis + offset) * inner, block) }
        offset += p.dim(a)
    }
}

/// Joins bottoms along `axis` (or the deprecated `concat_dim`).
struct ConcatPlan: LayerPlan {
    static let type = "Concat"
    static let bottoms = 1...Int.max
    static let tops = 1...1
    let axis: Int
    let param: Caffe.ConcatParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.concatParam
        if param.has(.concatDim) {
            guard !param.has(.axis) else { throw PlanError("give axis or concat_dim, not both", at: param.location(of: .concatDim)) }
            axis = param.concatDim
        } else {
            axis = param.axis
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        var top = b[0]
        for (i, s) in b.enumerated().dropFirst() {
            guard s.count == top.count, s.indices.allSatisfy({ $0 == a || s[$0] == b[0][$0] }) else {
                throw PlanError("bottom \(i) (\(describe(s))) must match bottom 0 (\(describe(b[0]))) on every axis but \(a)")
            }
            top[a] += s[a]
        }
        return PlannedShapes(tops: [top])
    }
}

/// Joins bottoms along `axis`; backward hands each bottom its slice of dy.
final class ConcatLayer: Layer {
    private let concat: ConcatPlan

    required init(_ ctx: LayerContext) throws {
        concat = ctx.plan(ConcatPlan.self)
        try super.init(ctx)
    }

    /// Whether this concatenates along axis 1 of a 4-D top (depth concat).
    func joinsChannels(of top: Blob) -> Bool { top.numAxes == 4 && (try? canonicalAxis(concat.axis, 4)) == 1 }

    private func blocks(_ bottoms: [Blob], _ top: Blob, _ body: (Int, Int, Int, Int) -> Void) throws {
        try forEachBlock(of: bottoms, in: top, axis: concat.axis, body)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let y = tops[0].data
        try blocks(bottoms, tops[0]) { i, o, at, n in (y + at).update(from: bottoms[i].data + o * n, count: n) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let dy = tops[0].diff
        try blocks(bottoms, tops[0]) { i, o, at, n in
            if propagateDown[i] { (bottoms[i].diff + o * n).update(from: dy + at, count: n) }
        }
    }
}
