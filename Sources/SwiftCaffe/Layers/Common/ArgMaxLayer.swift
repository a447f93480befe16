/// Indices (or values, with out_max_val) of the top_k largest entries.
struct ArgMaxPlan: LayerPlan {
    static let type = "ArgMax"
    static let bottoms = 1...1
    static let tops = 1...1
    let topK: Int
    let outMaxVal: Bool
    let axis: Int?
    let param: Caffe.ArgMaxParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.argmaxParam
        topK = param.topK
        outMaxVal = param.outMaxVal
        axis = param.has(.axis) ? param.axis : nil
        guard topK >= 1 else { throw PlanError("top_k must be ≥ 1", at: param.location(of: .topK)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        if let ax = axis {
            let a = try canonicalAxis(ax, s.count, at: param.location(of: .axis))
            guard topK <= s[a] else { throw PlanError("top_k (\(topK)) exceeds axis \(a) of size \(s[a])", at: param.location(of: .topK)) }
            var top = s
            top[a] = topK
            return PlannedShapes(tops: [top])
        }
        guard topK <= count(s, from: 1) else {
            throw PlanError("top_k (\(topK)) exceeds the \(count(s, from: 1)) values per item", at: param.location(of: .topK))
        }
        var top = Array(repeating: 1, count: max(s.count, 3))
        top[0] = s[0]
        top[2] = topK
        if outMaxVal { top[1] = 2 }
        return PlannedShapes(tops: [top])
    }
}

/// The indices (or with out_max_val, the values) of the top_k largest entries
/// along `axis`, or over everything after the first axis when no axis is
/// given — then with out_max_val the top holds the k indices followed by the
/// k values. Ties go to the larger index, as Caffe's sort of (value, index)
/// pairs orders them. It has no gradient.
final class ArgMaxLayer: Layer {
    private let argmax: ArgMaxPlan

    required init(_ ctx: LayerContext) throws {
        argmax = ctx.plan(ArgMaxPlan.self)
        try super.init(ctx)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = bottoms[0], k = argmax.topK
        let dim: Int, stride: Int
        if let ax = argmax.axis {
            let a = try canonicalAxis(ax, b.numAxes)
            dim = b.dim(a)
            stride = b.count(from: a + 1)
        } else {
            dim = b.count(from: 1)
            stride = 1
        }
        let x = b.data, y = tops[0].data
        for i in 0..<(b.count / dim) {
            let (outer, inner) = (i / stride, i % stride)
            var pairs = (0..<dim).map { j in (x[(outer * dim + j) * stride + inner], j) }
            pairs.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 > $1.1 }
            for j in 0..<k {
                if argmax.axis != nil {
                    y[(outer * k + j) * stride + inner] = argmax.outMaxVal ? pairs[j].0 : Float(pairs[j].1)
                } else if argmax.outMaxVal {
                    y[2 * i * k + j] = Float(pairs[j].1)
                    y[2 * i * k + k + j] = pairs[j].0
                } else {
                    y[i * k + j] = Float(pairs[j].1)
                }
            }
        }
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown.contains(true) { throw fail("ArgMax has no gradient") }
    }
}
