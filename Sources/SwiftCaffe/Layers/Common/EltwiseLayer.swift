/// Element-wise PROD, SUM (with coefficients) or MAX of same-shaped bottoms.
struct EltwisePlan: LayerPlan {
    static let type = "Eltwise"
    static let bottoms = 2...Int.max
    static let tops = 1...1
    let param: Caffe.EltwiseParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.eltwiseParam
        let coeffs = param.coeff
        if !coeffs.isEmpty {
            guard param.operation == .sum else {
                throw PlanError("coeff is only for the SUM operation", at: param.location(of: .coeff))
            }
            guard coeffs.count == l.bottoms.count else {
                throw PlanError("give one coeff per bottom (\(l.bottoms.count)), found \(coeffs.count)", at: param.location(of: .coeff))
            }
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        try requireSameShapes(b, what: "Eltwise")
        return PlannedShapes(tops: [b[0]])
    }
}

/// SUM (y = Σ c_i x_i, dx_i = c_i dy), PROD (y = Π x_i, dx_i = dy Π_{j≠i} x_j,
/// computed without division as Caffe's stable_prod_grad), MAX (y = max x_i,
/// dy to the bottom that held the maximum, the first on ties).
final class EltwiseLayer: Layer {
    typealias Operation = Caffe.EltwiseParameter.EltwiseOp

    private let operation: Operation
    private let coefficients: [Float]
    /// MAX's winning bottom per element (one unused element otherwise).
    private var argmax: [Int32] = [0]

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.eltwiseParam
        operation = p.operation
        let c = p.coeff.map(Float.init)
        coefficients = c.isEmpty ? Array(repeating: 1, count: ctx.parameter.bottoms.count) : c
        try super.init(ctx)
    }

    /// Elements per block: the bottoms' and the top's blocks stay in L1
    /// between the passes over them.
    private static let block = 2048

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws { forward(bottoms, tops, reluSlope: nil) }

    /// In a fused inference forward (InferenceFusion) the in-place ReLU after
    /// this layer is applied as each block of the sum is written (ResNet's
    /// shortcut sums) instead of in a pass of its own.
    override func forward(_ bottoms: [Blob], _ tops: [Blob], absorbing work: AbsorbedWork) throws {
        guard case .relu(let slope) = work else { preconditionFailure("Eltwise absorbs only a ReLU") }
        forward(bottoms, tops, reluSlope: slope)
    }

    private func forward(_ bottoms: [Blob], _ tops: [Blob], reluSlope slope: Float?) {
        let y = SharedPointer(tops[0].data), n = tops[0].count
        let xs = bottoms.map { SharedPointer($0.data) }, c = coefficients
        let operation = self.operation
        if operation == .max, argmax.count != n { argmax = Array(repeating: 0, count: n) }
        argmax.withUnsafeMutableBufferPointer { am in
            let at = SharedPointer(am.baseAddress!)
            // The blocks of a thread's range one after another, all passes over each.
            parallelRanges(n) { range in
                for lo in stride(from: range.lowerBound, to: range.upperBound, by: Self.block) {
                    let r = lo..<min(range.upperBound, lo + Self.block)
                    Self.combine(operation, xs, c, y, at, r)
                    // As ReLULayer: ν·y, not 0, so a NaN stays a NaN.
                    if let slope { for i in r { y[i] = y[i] > 0 ? y[i] : slope * y[i] } }
                }
            }
        }
    }

    /// y[r] from the bottoms' x[r]: a weighted sum (two bottoms in one
    /// expression, ResNet's case), a product, or the maximum and its bottom.
    @inline(__always)
    private static func combine(_ operation: Operation, _ xs: [SharedPointer<Float>], _ c: [Float], _ y: SharedPointer<Float>,
                                _ at: SharedPointer<Int32>, _ r: Range<Int>) {
        let x0 = xs[0]
        switch operation {
        case .sum:
            let c0 = c[0]
            if xs.count == 2 {
                let (x1, c1) = (xs[1], c[1])
                for i in r { y[i] = c0 * x0[i] + c1 * x1[i] }
                return
            }
            for i in r { y[i] = c0 * x0[i] }
            for j in 1..<xs.count {
                let (x, cj) = (xs[j], c[j])
                for i in r { y[i] += cj * x[i] }
            }
        case .prod:
            for i in r { y[i] = x0[i] }
            for x in xs.dropFirst() { for i in r { y[i] *= x[i] } }
        case .max:
            for i in r {
                y[i] = x0[i]
                at[i] = 0
            }
            for (j, x) in xs.enumerated().dropFirst() {
                for i in r where x[i] > y[i] {
                    y[i] = x[i]
                    at[i] = Int32(j)
                }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let dy = SharedPointer(tops[0].diff), n = tops[0].count
        let xs = bottoms.map { SharedPointer($0.data) }
        for (j, b) in bottoms.enumerated() where propagateDown[j] {
            let dx = SharedPointer(b.diff), cj = coefficients[j]
            switch operation {
            case .sum:
                parallelRanges(n) { r in for i in r { dx[i] = cj * dy[i] } }
            case .prod:
                parallelRanges(n) { r in
                    for i in r {
                        var p: Float = 1
                        for (k, other) in xs.enumerated() where k != j { p *= other[i] }
                        dx[i] = dy[i] * p
                    }
                }
            case .max:
                argmax.withUnsafeMutableBufferPointer { am in
                    let at = SharedPointer(am.baseAddress!)
                    parallelRanges(n) { r in for i in r { dx[i] = at[i] == Int32(j) ? dy[i] : 0 } }
                }
            }
        }
    }
}
