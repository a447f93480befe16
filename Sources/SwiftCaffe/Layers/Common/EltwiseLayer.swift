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
        let y = tops[0].data, n = tops[0].count
        switch operation {
        case "SUM":
            y.update(repeating: 0, count: n)
            for (b, c) in zip(bottoms, coefficients) { BLAS.axpy(n, c, b.data, y) }
        case "PROD":
            y.update(from: bottoms[0].data, count: n)
            for b in bottoms.dropFirst() { for i in 0..<n { y[i] *= b.data[i] } }
        default:
            if argmax.count != n { argmax = Array(repeating: 0, count: n) }
            y.update(from: bottoms[0].data, count: n)
            for i in 0..<n { argmax[i] = 0 }
            for (j, b) in bottoms.enumerated().dropFirst() {
                for i in 0..<n where b.data[i] > y[i] {
                    y[i] = b.data[i]
                    argmax[i] = Int32(j)
                }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let dy = tops[0].diff, n = tops[0].count
        for (j, b) in bottoms.enumerated() where propagateDown[j] {
            let dx = b.diff
            switch operation {
            case "SUM":
                for i in 0..<n { dx[i] = coefficients[j] * dy[i] }
            case "PROD":
                for i in 0..<n {
                    var p: Float = 1
                    for (k, other) in bottoms.enumerated() where k != j { p *= other.data[i] }
                    dx[i] = dy[i] * p
                }
            default:
                for i in 0..<n { dx[i] = argmax[i] == Int32(j) ? dy[i] : 0 }
            }
        }
    }
}
