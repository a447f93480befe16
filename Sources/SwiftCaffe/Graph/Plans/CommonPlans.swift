/// y = W x + b over all axes from `axis` on. Weights num_output × K (K × num_output when transposed).
struct InnerProductPlan: LayerPlan {
    static let type = "InnerProduct"
    static let bottoms = 1...1
    static let tops = 1...1
    let numOutput: Int
    let biasTerm: Bool
    let axis: Int
    let transpose: Bool

    init(_ l: LayerParameter) throws {
        let p = l.param("inner_product_param")
        numOutput = p.int("num_output")
        guard numOutput > 0 else { throw PlanError("num_output must be > 0 (found \(numOutput))", at: "inner_product_param", "num_output") }
        biasTerm = p.bool("bias_term")
        axis = p.int("axis")
        transpose = p.bool("transpose")
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "inner_product_param", "axis")
        let k = count(b[0], from: a), m = count(b[0], to: a)
        let w = transpose ? [k, numOutput] : [numOutput, k]
        return PlannedShapes(tops: [Array(b[0][..<a]) + [numOutput]],
                             params: biasTerm ? [w, [numOutput]] : [w], macs: product(m, k, numOutput))
    }
}

/// softmax along `axis`.
struct SoftmaxPlan: LayerPlan {
    static let type = "Softmax"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    init(_ l: LayerParameter) throws { axis = l.param("softmax_param").int("axis") }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try canonicalAxis(axis, b[0].count, field: "softmax_param", "axis")
        return PlannedShapes(tops: [b[0]])
    }
}

/// Joins bottoms along `axis` (or the deprecated `concat_dim`).
struct ConcatPlan: LayerPlan {
    static let type = "Concat"
    static let bottoms = 1...Int.max
    static let tops = 1...1
    let axis: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("concat_param")
        if p.has("concat_dim") {
            guard !p.has("axis") else { throw PlanError("give axis or concat_dim, not both", at: "concat_param", "concat_dim") }
            axis = p.int("concat_dim")
        } else {
            axis = p.int("axis")
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "concat_param", "axis")
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

/// Cuts one bottom along `axis` at `slice_point`s, or into equal parts.
struct SlicePlan: LayerPlan {
    static let type = "Slice"
    static let bottoms = 1...1
    static let tops = 1...Int.max
    let axis: Int
    let points: [Int]
    let topCount: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("slice_param")
        if p.has("slice_dim") {
            guard !p.has("axis") else { throw PlanError("give axis or slice_dim, not both", at: "slice_param", "slice_dim") }
            axis = p.int("slice_dim")
        } else {
            axis = p.int("axis")
        }
        points = p.ints("slice_point")
        topCount = l.tops.count
        guard points.isEmpty || points.count == topCount - 1 else {
            throw PlanError("\(topCount) tops need \(topCount - 1) slice points, found \(points.count)", at: "slice_param", "slice_point")
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "slice_param", "axis")
        let dim = b[0][a]
        var sizes: [Int]
        if points.isEmpty {
            guard dim % topCount == 0 else {
                throw PlanError("\(topCount) tops must divide axis \(a) of size \(dim) evenly; give slice_point values")
            }
            sizes = Array(repeating: dim / topCount, count: topCount)
        } else {
            let edges = [0] + points + [dim]
            sizes = zip(edges.dropFirst(), edges).map { $0 - $1 }
            guard sizes.allSatisfy({ $0 > 0 }) else {
                throw PlanError("slice points must increase strictly within 1…\(dim - 1), found \(points)", at: "slice_param", "slice_point")
            }
        }
        return PlannedShapes(tops: sizes.map { var s = b[0]; s[a] = $0; return s })
    }
}

/// Copies one blob to several consumers (inserted by the net builder).
struct SplitPlan: LayerPlan {
    static let type = "Split"
    static let bottoms = 1...1
    static let tops = 1...Int.max
    let n: Int
    init(_ l: LayerParameter) throws { n = l.tops.count }
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: Array(repeating: b[0], count: n)) }
}

/// Element-wise PROD, SUM (with coefficients) or MAX of same-shaped bottoms.
struct EltwisePlan: LayerPlan {
    static let type = "Eltwise"
    static let bottoms = 2...Int.max
    static let tops = 1...1

    init(_ l: LayerParameter) throws {
        let p = l.param("eltwise_param")
        let coeffs = p.floats("coeff")
        if !coeffs.isEmpty {
            guard p.enumName("operation") == "SUM" else {
                throw PlanError("coeff is only for the SUM operation", at: "eltwise_param", "coeff")
            }
            guard coeffs.count == l.bottoms.count else {
                throw PlanError("give one coeff per bottom (\(l.bottoms.count)), found \(coeffs.count)", at: "eltwise_param", "coeff")
            }
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        try requireSameShapes(b, what: "Eltwise")
        return PlannedShapes(tops: [b[0]])
    }
}

/// Merges axes axis…end_axis into one.
struct FlattenPlan: LayerPlan {
    static let type = "Flatten"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    let endAxis: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("flatten_param")
        axis = p.int("axis")
        endAxis = p.int("end_axis")
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        let a = try canonicalAxis(axis, s.count, field: "flatten_param", "axis")
        let e = try canonicalAxis(endAxis, s.count, field: "flatten_param", "end_axis")
        guard a <= e else { throw PlanError("axis (\(a)) must not come after end_axis (\(e))", at: "flatten_param") }
        return PlannedShapes(tops: [Array(s[..<a]) + [count(s, from: a, to: e + 1)] + Array(s[(e + 1)...])])
    }
}

/// Caffe's Reshape: `shape` replaces axes [axis, axis+num_axes); 0 copies the
/// bottom's dimension, −1 (at most one) is inferred from the count.
struct ReshapePlan: LayerPlan {
    static let type = "Reshape"
    static let bottoms = 1...1
    static let tops = 1...1
    let dims: [Int]
    let axis: Int
    let numAxes: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("reshape_param")
        dims = p.message("shape")?.ints("dim") ?? []
        axis = p.int("axis")
        numAxes = p.int("num_axes")
        guard dims.filter({ $0 == -1 }).count <= 1 else { throw PlanError("shape may contain at most one -1", at: "reshape_param", "shape") }
        guard dims.allSatisfy({ $0 >= -1 }) else { throw PlanError("shape dimensions must be ≥ -1", at: "reshape_param", "shape") }
        guard numAxes >= -1 else { throw PlanError("num_axes must be ≥ -1", at: "reshape_param", "num_axes") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        let start = axis >= 0 ? axis : s.count + axis + 1
        guard start >= 0, start <= s.count else {
            throw PlanError("axis \(axis) is out of range for a \(s.count)-axis blob", at: "reshape_param", "axis")
        }
        let end = numAxes == -1 ? s.count : start + numAxes
        guard end <= s.count else { throw PlanError("axis + num_axes (\(end)) exceeds the \(s.count) axes", at: "reshape_param", "num_axes") }
        var mid: [Int] = []
        for (i, d) in dims.enumerated() {
            if d == 0 {
                guard start + i < s.count else {
                    throw PlanError("dimension \(i) is 0 (copy) but the bottom has no axis \(start + i) to copy", at: "reshape_param", "shape")
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
                throw PlanError("the bottom's \(count(s)) values cannot be divided into \(known)-sized parts for the -1 dimension", at: "reshape_param", "shape")
            }
            top[i] = count(s) / known
        } else {
            guard known == count(s) else {
                throw PlanError("shape \(describe(top)) holds \(known) values but the bottom \(describe(s)) holds \(count(s))", at: "reshape_param", "shape")
            }
        }
        return PlannedShapes(tops: [top])
    }
}

/// Batch normalisation with Caffe's three blobs: mean, variance, and the
/// moving-average scale factor.
struct BatchNormPlan: LayerPlan {
    static let type = "BatchNorm"
    static let bottoms = 1...1
    static let tops = 1...1
    init(_ l: LayerParameter) throws {
        let f = l.param("batch_norm_param").float("moving_average_fraction")
        guard f >= 0, f <= 1 else { throw PlanError("moving_average_fraction must be in [0, 1]", at: "batch_norm_param", "moving_average_fraction") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let c = b[0].count == 1 ? 1 : b[0][1]
        return PlannedShapes(tops: [b[0]], params: [[c], [c], [1]])
    }
}

/// The shape a Scale/Bias parameter covers: bottom axes [axis, axis+num_axes).
private func broadcastShape(_ s: Shape, axis: Int, numAxes: Int, field: String) throws -> Shape {
    let a = try canonicalAxis(axis, s.count, field: field, "axis")
    guard numAxes >= -1 else { throw PlanError("num_axes must be ≥ -1", at: field, "num_axes") }
    let end = numAxes == -1 ? s.count : a + numAxes
    guard end <= s.count else { throw PlanError("axis + num_axes (\(end)) exceeds the bottom's \(s.count) axes", at: field, "num_axes") }
    return Array(s[a..<end])
}

/// Checks a second bottom used as the scale or bias against the first.
private func checkOperand(_ s: Shape, _ operand: Shape, axis: Int, field: String) throws {
    if operand.isEmpty { return }
    let a = try canonicalAxis(axis, s.count, field: field, "axis")
    guard a + operand.count <= s.count, Array(s[a..<(a + operand.count)]) == operand else {
        throw PlanError("bottom 1 (\(describe(operand))) must match bottom 0 (\(describe(s))) from axis \(a) on")
    }
}

/// y = x ⊙ γ (+ β), γ learned or a second bottom, broadcast from `axis`.
struct ScalePlan: LayerPlan {
    static let type = "Scale"
    static let bottoms = 1...2
    static let tops = 1...1
    let axis: Int
    let numAxes: Int
    let biasTerm: Bool

    init(_ l: LayerParameter) throws {
        let p = l.param("scale_param")
        axis = p.int("axis")
        numAxes = p.int("num_axes")
        biasTerm = p.bool("bias_term")
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let shape: Shape
        var params: [Shape] = []
        if b.count == 2 {
            try checkOperand(b[0], b[1], axis: axis, field: "scale_param")
            shape = b[1]
        } else {
            shape = try broadcastShape(b[0], axis: axis, numAxes: numAxes, field: "scale_param")
            params.append(shape)
        }
        if biasTerm { params.append(shape) }
        return PlannedShapes(tops: [b[0]], params: params, macs: count(b[0]))
    }
}

/// y = x + β, β learned or a second bottom, broadcast from `axis`.
struct BiasPlan: LayerPlan {
    static let type = "Bias"
    static let bottoms = 1...2
    static let tops = 1...1
    let axis: Int
    let numAxes: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("bias_param")
        axis = p.int("axis")
        numAxes = p.int("num_axes")
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        if b.count == 2 {
            try checkOperand(b[0], b[1], axis: axis, field: "bias_param")
            return PlannedShapes(tops: [b[0]])
        }
        return PlannedShapes(tops: [b[0]], params: [try broadcastShape(b[0], axis: axis, numAxes: numAxes, field: "bias_param")])
    }
}

/// Mean (and variance) normalisation per channel or across channels.
struct MVNPlan: LayerPlan {
    static let type = "MVN"
    static let bottoms = 1...1
    static let tops = 1...1
    init(_ l: LayerParameter) throws {}
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [b[0]]) }
}

/// Indices (or values, with out_max_val) of the top_k largest entries.
struct ArgMaxPlan: LayerPlan {
    static let type = "ArgMax"
    static let bottoms = 1...1
    static let tops = 1...1
    let topK: Int
    let outMaxVal: Bool
    let axis: Int?

    init(_ l: LayerParameter) throws {
        let p = l.param("argmax_param")
        topK = p.int("top_k")
        outMaxVal = p.bool("out_max_val")
        axis = p.has("axis") ? p.int("axis") : nil
        guard topK >= 1 else { throw PlanError("top_k must be ≥ 1", at: "argmax_param", "top_k") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        if let ax = axis {
            let a = try canonicalAxis(ax, s.count, field: "argmax_param", "axis")
            guard topK <= s[a] else { throw PlanError("top_k (\(topK)) exceeds axis \(a) of size \(s[a])", at: "argmax_param", "top_k") }
            var top = s
            top[a] = topK
            return PlannedShapes(tops: [top])
        }
        guard topK <= count(s, from: 1) else {
            throw PlanError("top_k (\(topK)) exceeds the \(count(s, from: 1)) values per item", at: "argmax_param", "top_k")
        }
        var top = Array(repeating: 1, count: max(s.count, 3))
        top[0] = s[0]
        top[2] = topK
        if outMaxVal { top[1] = 2 }
        return PlannedShapes(tops: [top])
    }
}

/// Consumes blobs nobody else uses, so Caffe does not print them.
struct SilencePlan: LayerPlan {
    static let type = "Silence"
    static let bottoms = 1...Int.max
    static let tops = 0...0
    init(_ l: LayerParameter) throws {}
    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: []) }
}

/// SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on.
struct ReductionPlan: LayerPlan {
    static let type = "Reduction"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    init(_ l: LayerParameter) throws { axis = l.param("reduction_param").int("axis") }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "reduction_param", "axis")
        return PlannedShapes(tops: [Array(b[0][..<a])])
    }
}

/// Repeats the blob `tiles` times along `axis`.
struct TilePlan: LayerPlan {
    static let type = "Tile"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    let tiles: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("tile_param")
        axis = p.int("axis")
        tiles = p.int("tiles")
        guard tiles > 0 else { throw PlanError("tiles must be > 0", at: "tile_param", "tiles") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "tile_param", "axis")
        var top = b[0]
        top[a] *= tiles
        return PlannedShapes(tops: [top])
    }
}

/// Looks up a learned vector per integer index (one-hot inner product).
struct EmbedPlan: LayerPlan {
    static let type = "Embed"
    static let bottoms = 1...1
    static let tops = 1...1
    let numOutput: Int
    let inputDim: Int
    let biasTerm: Bool

    init(_ l: LayerParameter) throws {
        let p = l.param("embed_param")
        numOutput = p.int("num_output")
        inputDim = p.int("input_dim")
        biasTerm = p.bool("bias_term")
        guard numOutput > 0, inputDim > 0 else {
            throw PlanError("num_output and input_dim must be > 0", at: "embed_param")
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        PlannedShapes(tops: [b[0] + [numOutput]],
                      params: biasTerm ? [[inputDim, numOutput], [numOutput]] : [[inputDim, numOutput]])
    }
}
