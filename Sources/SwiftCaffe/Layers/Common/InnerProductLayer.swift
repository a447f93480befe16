import CKernels

/// y = W x + b over all axes from `axis` on. Weights num_output × K (K × num_output when transposed).
struct InnerProductPlan: LayerPlan {
    static let type = "InnerProduct"
    static let bottoms = 1...1
    static let tops = 1...1
    let numOutput: Int
    let biasTerm: Bool
    let axis: Int
    let transpose: Bool
    let param: Caffe.InnerProductParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.innerProductParam
        numOutput = param.numOutput
        guard numOutput > 0 else { throw PlanError("num_output must be > 0 (found \(numOutput))", at: param.location(of: .numOutput)) }
        biasTerm = param.biasTerm
        axis = param.axis
        transpose = param.transpose
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        let k = count(b[0], from: a), m = count(b[0], to: a)
        let w = transpose ? [k, numOutput] : [numOutput, k]
        return PlannedShapes(tops: [Array(b[0][..<a]) + [numOutput]],
                             params: biasTerm ? [w, [numOutput]] : [w], macs: product(m, k, numOutput))
    }
}

/// y = x·Wᵀ + b over the axes from `axis` on (M rows of K values → N outputs);
/// W is N×K, or K×N with transpose. dW += dyᵀ·x (xᵀ·dy transposed),
/// db += Σ dy, dx = dy·W (dy·Wᵀ transposed).
final class InnerProductLayer: Layer {
    private let ip: InnerProductPlan
    private var m = 0, k = 0
    /// The weights as fp16 or bfloat16 bit patterns (`Net.storeWeights(as:)`),
    /// which the forward pass of up to 16 rows reads instead of the floats.
    private(set) var compactWeights: CompactWeights?

    /// Keeps a copy of the current weights at `precision` (nil for fp32:
    /// the floats again). Transposed weights keep their floats.
    func storeWeights(as precision: WeightPrecision) {
        compactWeights = ip.transpose ? nil : CompactWeights(params[0], as: precision)
    }

    required init(_ ctx: LayerContext) throws {
        ip = ctx.plan(InnerProductPlan.self)
        try super.init(ctx)
    }

    override func fillers() throws -> [Filler] {
        [try Filler(parameter.proto.innerProductParam.weightFiller), try Filler(parameter.proto.innerProductParam.biasFiller)]
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        let a = try canonicalAxis(ip.axis, bottoms[0].numAxes)
        m = bottoms[0].count(from: 0, to: a)
        k = bottoms[0].count(from: a)
        guard params[0].count == k * ip.numOutput else {
            throw fail("the input has \(k) values per item but the weights were made for \(params[0].count / max(ip.numOutput, 1)); InnerProduct weights fix that size")
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let n = ip.numOutput
        if m <= 16, !ip.transpose {
            // Up to 16 rows (a batch of 10 at fc6): stream each weight row once
            // (CKernels, four weight rows against four input rows per pass)
            // instead of a general GEMM, which at this shape runs at a third of
            // memory bandwidth (fc6 at batch 10: 9–16 ms against 26 ms). At 32
            // rows the two tie; from 64 OpenBLAS wins.
            let x = SharedPointer(bottoms[0].data), w = SharedPointer(params[0].data), y = SharedPointer(tops[0].data)
            let bias = ip.biasTerm ? SharedPointer(params[1].data) : nil
            let (rows, k) = (m, self.k)
            let chunk = max(1, (n + 63) / 64)
            if let compact = compactWeights {
                compact.bits.withUnsafeBufferPointer { b in
                    let half = SharedPointer(UnsafeMutablePointer(mutating: b.baseAddress!)), bf16: Int32 = compact.precision == .bf16 ? 1 : 0
                    Parallel.forEach((n + chunk - 1) / chunk) { c in
                        let lo = c * chunk, hi = min(n, lo + chunk)
                        sc_skinny_inner_product_half(x.base, Int32(rows), Int32(k), half.base, bf16, bias?.base, Int32(lo), Int32(hi), y.base, Int32(n))
                    }
                }
                return
            }
            Parallel.forEach((n + chunk - 1) / chunk) { c in
                let lo = c * chunk, hi = min(n, lo + chunk)
                sc_skinny_inner_product(x.base, Int32(rows), Int32(k), w.base, bias?.base, Int32(lo), Int32(hi), y.base, Int32(n))
            }
            return
        }
        BLAS.gemm(transB: !ip.transpose, m: m, n: n, k: k, a: bottoms[0].data, b: params[0].data, c: tops[0].data)
        if ip.biasTerm {
            let y = tops[0].data, b = params[1].data
            for i in 0..<m { for j in 0..<n { y[i * n + j] += b[j] } }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if let compact = compactWeights { throw fail(compact.backwardRefusal) }
        let n = ip.numOutput
        let dy = tops[0].diff, x = bottoms[0].data
        if ip.transpose {
            BLAS.gemm(transA: true, m: k, n: n, k: m, a: x, b: dy, beta: 1, c: params[0].diff)
        } else {
            BLAS.gemm(transA: true, m: n, n: k, k: m, a: dy, b: x, beta: 1, c: params[0].diff)
        }
        if ip.biasTerm {
            let db = params[1].diff
            for i in 0..<m { for j in 0..<n { db[j] += dy[i * n + j] } }
        }
        if propagateDown[0] {
            BLAS.gemm(transB: ip.transpose, m: m, n: k, k: n, a: dy, b: params[0].data, c: bottoms[0].diff)
        }
    }
}
