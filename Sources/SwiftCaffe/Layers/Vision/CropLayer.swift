/// Crop: bottom 0 cut to bottom 1's size on every axis from `axis` on, at `offset`.
struct CropPlan: LayerPlan {
    static let type = "Crop"
    static let bottoms = 2...2
    static let tops = 1...1
    let axis: Int
    let offsets: [Int]
    let param: Caffe.CropParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.cropParam
        axis = param.axis
        offsets = param.offset
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let (b, ref) = (bottoms[0], bottoms[1])
        let a = try canonicalAxis(axis, b.count, at: param.location(of: .axis))
        guard ref.count == b.count else { throw PlanError("both bottoms must have the same number of axes (\(describe(b)) vs \(describe(ref)))") }
        let n = b.count - a
        guard offsets.count <= 1 || offsets.count == n else {
            throw PlanError("give 0, 1 or \(n) offsets, found \(offsets.count)", at: param.location(of: .offset))
        }
        var top = b
        for i in a..<b.count {
            let off = offsets.isEmpty ? 0 : offsets[offsets.count == 1 ? 0 : i - a]
            guard off + ref[i] <= b[i] else {
                throw PlanError("crop of size \(ref[i]) at offset \(off) does not fit axis \(i) of size \(b[i])", at: param.location)
            }
            top[i] = ref[i]
        }
        return PlannedShapes(tops: [top])
    }
}

/// Copies from bottom 0 the region of bottom 1's size on every axis from
/// `axis` on, starting at `offset`; dbottom0 is dy in that region and 0
/// elsewhere; the reference bottom gets no gradient.
final class CropLayer: Layer {
    private let crop: CropPlan

    required init(_ ctx: LayerContext) throws {
        crop = ctx.plan(CropPlan.self)
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    /// The bottom index of each top element.
    private func sourceIndices(_ b: Blob, _ t: Blob) throws -> [Int] {
        let a = try canonicalAxis(crop.axis, b.numAxes)
        let offsets = (0..<b.numAxes).map { i in
            i < a || crop.offsets.isEmpty ? 0 : crop.offsets[crop.offsets.count == 1 ? 0 : i - a]
        }
        var out = [Int](repeating: 0, count: t.count)
        var coord = [Int](repeating: 0, count: t.numAxes)
        for k in 0..<t.count {
            var rest = k
            for ax in stride(from: t.numAxes - 1, through: 0, by: -1) {
                coord[ax] = rest % t.dim(ax)
                rest /= t.dim(ax)
            }
            var src = 0
            for ax in 0..<b.numAxes { src = src * b.dim(ax) + coord[ax] + offsets[ax] }
            out[k] = src
        }
        return out
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let idx = try sourceIndices(bottoms[0], tops[0])
        let x = bottoms[0].data, y = tops[0].data
        for (k, s) in idx.enumerated() { y[k] = x[s] }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let idx = try sourceIndices(bottoms[0], tops[0])
        bottoms[0].zeroDiff()
        let dx = bottoms[0].diff, dy = tops[0].diff
        for (k, s) in idx.enumerated() { dx[s] = dy[k] }
    }
}
