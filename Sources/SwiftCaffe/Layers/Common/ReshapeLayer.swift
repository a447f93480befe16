/// Caffe's Reshape: `shape` replaces axes [axis, axis+num_axes); 0 copies the
/// bottom's dimension, −1 (at most one) is inferred from the count.
struct ReshapePlan: LayerPlan {
    static let type = "Reshape"
    static let bottoms = 1...1
    static let tops = 1...1
    let dims: [Int]
    let axis: Int
    let numAxes: Int
    let param: Caffe.ReshapeParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.reshapeParam
        dims = param.shape.dim
        axis = param.axis
        numAxes = param.numAxes
        guard dims.filter({ $0 == -1 }).count <= 1 else { throw PlanError("shape may contain at most one -1", at: param.location(of: .shape)) }
        guard dims.allSatisfy({ $0 >= -1 }) else { throw PlanError("shape dimensions must be ≥ -1", at: param.location(of: .shape)) }
        guard numAxes >= -1 else { throw PlanError("num_axes must be ≥ -1", at: param.location(of: .numAxes)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        let start = axis >= 0 ? axis : s.count + axis + 1
        guard start >= 0, start <= s.count else {
            throw PlanError("axis \(axis) is out of range for a \(s.count)-axis blob", at: param.location(of: .axis))
        }
        let end = numAxes == -1 ? s.count : start + numAxes
        guard end <= s.count else { throw PlanError("axis + num_axes (\(end)) exceeds the \(s.count) axes", at: param.location(of: .numAxes)) }
        var mid: [Int] = []
        for (i, d) in dims.enumerated() {
            if d == 0 {
                guard start + i < s.count else {
                    throw PlanError("dimension \(i) is 0 (copy) but the bottom has no axis \(start + i) to copy", at: param.location(of: .shape))
                }
                mid.append(s[start + i])
            } else {
                mid.append(d)
            }
        }
        var top = Array(s[..<start]) + mid + Array(s[end...])
        let known = product(top.filter { $0 != -1 })
        if let i = top.firstIndex(of: -1) {
            guard known > 0, count(s) % known == 0 else {
                throw PlanError("the bottom's \(count(s)) values cannot be divided into \(known)-sized parts for the -1 dimension", at: param.location(of: .shape))
            }
            top[i] = count(s) / known
        } else {
            guard known == count(s) else {
                throw PlanError("shape \(describe(top)) holds \(known) values but the bottom \(describe(s)) holds \(count(s))", at: param.location(of: .shape))
            }
        }
        return PlannedShapes(tops: [top])
    }
}

/// Same values in a new shape (Caffe's 0 = copy, −1 = infer); gradients pass through.
final class ReshapeLayer: Layer {
    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        if tops[0] !== bottoms[0] { tops[0].data.update(from: bottoms[0].data, count: bottoms[0].count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[0], tops[0] !== bottoms[0] { bottoms[0].diff.update(from: tops[0].diff, count: bottoms[0].count) }
    }
}
