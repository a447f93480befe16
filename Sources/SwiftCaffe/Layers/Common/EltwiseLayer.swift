/// SUM (y = Σ c_i x_i, dx_i = c_i dy), PROD (y = Π x_i, dx_i = dy Π_{j≠i} x_j,
/// computed without division as Caffe's stable_prod_grad), MAX (y = max x_i,
/// dy to the bottom that held the maximum, the first on ties).
final class EltwiseLayer: Layer {
    private let operation: String
    private let coefficients: [Float]
    private var argmax: [Int32] = []

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.param("eltwise_param")
        operation = p.enumName("operation")
        let c = p.floats("coeff").map(Float.init)
        coefficients = c.isEmpty ? Array(repeating: 1, count: ctx.parameter.bottoms.count) : c
        try super.init(ctx)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let y = SharedPointer(tops[0].data), n = tops[0].count
        let xs = bottoms.map { SharedPointer($0.data) }, c = coefficients
        // One pass per block of elements, the blocks spread over the threads.
        switch operation {
        case "SUM":
            parallelRanges(n) { r in
                let (x0, c0) = (xs[0], c[0])
                for i in r { y[i] = c0 * x0[i] }
                for j in 1..<xs.count {
                    let (x, cj) = (xs[j], c[j])
                    for i in r { y[i] += cj * x[i] }
                }
            }
        case "PROD":
            parallelRanges(n) { r in
                let x0 = xs[0]
                for i in r { y[i] = x0[i] }
                for x in xs.dropFirst() { for i in r { y[i] *= x[i] } }
            }
        default:
            if argmax.count != n { argmax = Array(repeating: 0, count: n) }
            argmax.withUnsafeMutableBufferPointer { am in
                let at = SharedPointer(am.baseAddress!)
                parallelRanges(n) { r in
                    let x0 = xs[0]
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
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let dy = SharedPointer(tops[0].diff), n = tops[0].count
        let xs = bottoms.map { SharedPointer($0.data) }
        for (j, b) in bottoms.enumerated() where propagateDown[j] {
            let dx = SharedPointer(b.diff), cj = coefficients[j]
            switch operation {
            case "SUM":
                parallelRanges(n) { r in for i in r { dx[i] = cj * dy[i] } }
            case "PROD":
                parallelRanges(n) { r in
                    for i in r {
                        var p: Float = 1
                        for (k, other) in xs.enumerated() where k != j { p *= other[i] }
                        dx[i] = dy[i] * p
                    }
                }
            default:
                argmax.withUnsafeMutableBufferPointer { am in
                    let at = SharedPointer(am.baseAddress!)
                    parallelRanges(n) { r in for i in r { dx[i] = at[i] == Int32(j) ? dy[i] : 0 } }
                }
            }
        }
    }
}
