/// SSD's Permute (weiliu89/caffe, permute_param order): top axis i is bottom
/// axis order[i]; axes the order leaves out follow in their own order. SSD
/// nets turn N×C×H×W predictions into N×H×W×C with order 0 2 3 1.
struct PermutePlan: LayerPlan {
    static let type = "Permute"
    static let bottoms = 1...1
    static let tops = 1...1
    let given: [Int]
    let param: Caffe.PermuteParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.permuteParam
        given = param.order
        try refuseInPlace(l, because: "the values move")
        var seen = Set<Int>()
        for a in given where !seen.insert(a).inserted {
            throw PlanError("permute_param order names axis \(a) twice", at: param.location(of: .order))
        }
    }

    /// The full order for a blob of `axes` axes.
    func order(axes: Int) throws -> [Int] {
        guard given.count <= axes, given.allSatisfy({ $0 < axes }) else {
            throw PlanError("permute_param order \(given.map(String.init).joined(separator: " ")) does not fit a \(axes)-axis bottom "
                            + "(axes are 0 to \(axes - 1))", at: param.location(of: .order))
        }
        return given + (0..<axes).filter { !given.contains($0) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        PlannedShapes(tops: [try order(axes: b[0].count).map { b[0][$0] }])
    }
}

/// A strided copy: the top is walked in order and each value fetched from the
/// bottom at the permuted strides; backward walks the same way and stores.
final class PermuteLayer: Layer {
    private let permute: PermutePlan
    private var order: [Int] = []

    required init(_ ctx: LayerContext) throws {
        permute = ctx.plan(PermutePlan.self)
        try super.init(ctx)
    }

    /// The bottom offset of every top element, in top order, handed to `body`
    /// a run of the last top axis at a time: (first top index, first bottom
    /// offset, bottom stride, run length).
    private func walk(_ shape: Shape, _ body: (Int, Int, Int, Int) -> Void) {
        var strides = Array(repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * shape[a + 1] }
        let topShape = order.map { shape[$0] }, topStrides = order.map { strides[$0] }
        let total = count(shape)
        guard total > 0 else { return }
        guard let last = topShape.indices.last else { body(0, 0, 1, 1); return }
        let run = topShape[last], outer = total / run
        var index = Array(repeating: 0, count: topShape.count), offset = 0
        for r in 0..<outer {
            body(r * run, offset, topStrides[last], run)
            var a = last - 1
            while a >= 0 {
                index[a] += 1
                offset += topStrides[a]
                if index[a] < topShape[a] { break }
                offset -= topStrides[a] * topShape[a]
                index[a] = 0
                a -= 1
            }
        }
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        order = try permute.order(axes: bottoms[0].numAxes)
        try super.reshape(bottoms, tops)
    }


    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0].data, y = tops[0].data
        walk(bottoms[0].shape) { top, offset, stride, run in
            for i in 0..<run { y[top + i] = x[offset + i * stride] }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let dy = tops[0].diff, dx = bottoms[0].diff
        walk(bottoms[0].shape) { top, offset, stride, run in
            for i in 0..<run { dx[offset + i * stride] = dy[top + i] }
        }
    }
}
