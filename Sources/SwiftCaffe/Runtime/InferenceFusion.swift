/// Inference-time fusion: in a forward pass that no backward follows, a
/// Convolution absorbs the in-place layers after it that act per channel,
///   conv → BatchNorm (stored statistics) → Scale → ReLU (or ReLU6),
/// as one affine map and ReLU applied while its output is still in cache;
/// an Eltwise absorbs the in-place ReLU after it (ResNet's shortcut sums);
/// and a channel Concat whose every input is such a chain is skipped: each
/// convolution writes its channels of the Concat's top directly (GoogLeNet's
/// Inception modules, SqueezeNet's Fire modules). The blobs reached by the
/// net's outputs hold the same values as without fusion, up to float
/// rounding of the folded map (tests: ≤ 1e-5 relative); a convolution's own
/// top that only feeds a skipped Concat is left unwritten, so tools that read
/// intermediate blobs switch fusion off (`Net.fusesForInference`).
/// The work a layer does for the layers a fused forward folded into it.
enum AbsorbedWork {
    /// A convolution's per-channel map, ReLU and destination.
    case epilogue(ConvEpilogue)
    /// An Eltwise's in-place ReLU after it.
    case relu(slope: Float)
}

struct InferenceFusion {
    struct Chain {
        var conv: Int
        var batchNorm: Int?
        var scale: Int?
        var relu: Int?
        /// The Concat this chain writes into, and the first channel it writes.
        var concat: (layer: Int, channelOffset: Int)?
    }

    private(set) var chains: [Chain] = []
    /// The chains by their convolution's layer index.
    private(set) var chainAt: [Int: Chain] = [:]
    /// Layers whose work the chains do: not run in a fused forward.
    private(set) var absorbed: Set<Int> = []
    /// Eltwise layers by index, with the slope of the ReLU each absorbs.
    private(set) var reluAfterEltwise: [Int: Float] = [:]

    init(layers: [Layer], bottoms: [[Blob]], tops: [[Blob]]) {
        func inPlace(_ j: Int, on t: Blob) -> Bool {
            j < layers.count && bottoms[j].count == 1 && tops[j].count == 1 && bottoms[j][0] === t && tops[j][0] === t
        }
        var chainEnding: [ObjectIdentifier: Int] = [:]  // conv top → index in chains
        for i in layers.indices {
            guard let conv = layers[i] as? ConvolutionLayer, bottoms[i].count == 1, tops[i].count == 1,
                  tops[i][0].numAxes == 4, conv.geometry.axis == 1 else { continue }
            let t = tops[i][0]
            var chain = Chain(conv: i)
            var j = i + 1
            if inPlace(j, on: t), let bn = layers[j] as? BatchNormLayer, bn.useGlobal { chain.batchNorm = j; j += 1 }
            if inPlace(j, on: t), let sc = layers[j] as? ScaleLayer, sc.scalesChannels(of: t) { chain.scale = j; j += 1 }
            if inPlace(j, on: t), layers[j] is ReLULayer || layers[j] is ReLU6Layer { chain.relu = j }
            chainEnding[ObjectIdentifier(t)] = chains.count
            chains.append(chain)
        }
        // A channel Concat of 4-D blobs, each the top of a chain that no other layer reads.
        let chainLayers = Set(chains.flatMap { [$0.batchNorm, $0.scale, $0.relu].compactMap { $0 } })
        var readers: [ObjectIdentifier: Int] = [:]
        for (i, bs) in bottoms.enumerated() where !chainLayers.contains(i) {
            for b in bs { readers[ObjectIdentifier(b), default: 0] += 1 }
        }
        for i in layers.indices where layers[i] is ConcatLayer {
            guard let top = tops[i].first, top.numAxes == 4, (layers[i] as? ConcatLayer)?.joinsChannels(of: top) == true else { continue }
            let ids = bottoms[i].map { ObjectIdentifier($0) }
            guard Set(ids).count == ids.count,
                  ids.allSatisfy({ chainEnding[$0] != nil && readers[$0] == 1 }) else { continue }
            var offset = 0
            for (b, id) in zip(bottoms[i], ids) {
                chains[chainEnding[id]!].concat = (i, offset)
                offset += b.dim(1)
            }
            absorbed.insert(i)
        }
        chains.removeAll { $0.batchNorm == nil && $0.scale == nil && $0.relu == nil && $0.concat == nil }
        for c in chains {
            absorbed.formUnion([c.batchNorm, c.scale, c.relu].compactMap { $0 })
            chainAt[c.conv] = c
        }
        for i in layers.indices where layers[i] is EltwiseLayer && tops[i].count == 1 {
            guard inPlace(i + 1, on: tops[i][0]), let relu = layers[i + 1] as? ReLULayer else { continue }
            reluAfterEltwise[i] = relu.slope
            absorbed.insert(i + 1)
        }
    }

    /// What layer i does for others in a fused forward, if anything.
    func work(at i: Int, layers: [Layer], tops: [[Blob]]) -> AbsorbedWork? {
        if let slope = reluAfterEltwise[i] { return .relu(slope: slope) }
        return chainAt[i].map { .epilogue(epilogue($0, layers: layers, tops: tops)) }
    }

    /// The epilogue of a chain, from the current parameters (read at every
    /// forward: weights may be loaded or trained between passes).
    func epilogue(_ c: Chain, layers: [Layer], tops: [[Blob]]) -> ConvEpilogue {
        var e = ConvEpilogue()
        if let b = c.batchNorm, let bn = layers[b] as? BatchNormLayer { e.batchNorm = (bn.params, bn.eps) }
        if let s = c.scale { e.scale = layers[s].params }
        if let r = c.relu, let relu = layers[r] as? ReLULayer { e.slope = relu.slope }
        if let r = c.relu, layers[r] is ReLU6Layer { (e.slope, e.ceiling) = (0, 6) }
        if let (layer, offset) = c.concat { e.destination = (tops[layer][0], offset) }
        return e
    }
}

/// What a Convolution does to its GEMM result in a fused forward.
struct ConvEpilogue {
    /// BatchNorm's three blobs (mean, variance, scale factor) and eps.
    var batchNorm: (blobs: [Blob], eps: Float)?
    /// Scale's γ and, with bias_term, β.
    var scale: [Blob]?
    var slope: Float?
    /// ReLU6's clamp after the ReLU.
    var ceiling: Float?
    var destination: (blob: Blob, channelOffset: Int)?

    /// y = min(relu(x·a + c), ceiling) per channel, with nil meaning a = 1,
    /// c = 0, no ReLU and no ceiling.
    struct Resolved: Sendable {
        var scale: [Float]?
        var shift: [Float]?
        var slope: Float?
        var ceiling: Float?

        var isIdentity: Bool { scale == nil && shift == nil && slope == nil }

        /// The map as the C kernels take it (valid inside `withKernelArguments`):
        /// a scale and a shift per channel, whether to apply the ReLU, its
        /// slope and the ceiling after it (+∞ for none).
        struct KernelArguments: @unchecked Sendable {
            let scale, shift: UnsafePointer<Float>
            let relu: Int32
            let slope: Float
            let ceiling: Float
        }

        /// Runs body with the map's arrays for `outputs` channels, 1 and 0
        /// standing in for a missing scale and shift.
        func withKernelArguments<T>(outputs: Int, _ body: (KernelArguments) -> T) -> T {
            let a = scale ?? [Float](repeating: 1, count: outputs), c = shift ?? [Float](repeating: 0, count: outputs)
            return a.withUnsafeBufferPointer { a in
                c.withUnsafeBufferPointer { c in
                    body(KernelArguments(scale: a.baseAddress!, shift: c.baseAddress!, relu: slope == nil ? 0 : 1, slope: slope ?? 0,
                                         ceiling: ceiling ?? .infinity))
                }
            }
        }

        @inline(__always)
        func apply(channel o: Int, from src: UnsafeMutablePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
            let a = scale?[o] ?? 1, c = shift?[o] ?? 0
            // Separate loops keep each one a plain vectorisable body.
            if slope != nil, let ceiling {
                for j in 0..<count { let v = src[j] * a + c; dst[j] = v > ceiling ? ceiling : (v > 0 ? v : 0) }
            } else if let slope {
                if slope == 0 {
                    for j in 0..<count { let v = src[j] * a + c; dst[j] = v > 0 ? v : 0 }
                } else {
                    for j in 0..<count { let v = src[j] * a + c; dst[j] = v > 0 ? v : v * slope }
                }
            } else if scale != nil {
                for j in 0..<count { dst[j] = src[j] * a + c }
            } else {
                for j in 0..<count { dst[j] = src[j] + c }
            }
        }
    }

    /// Folds bias, BatchNorm and Scale into one affine map per channel, in
    /// the order the layers run: x + b, then (· − μ)/√(σ² + eps), then ·γ + β.
    func resolve(bias: SharedPointer<Float>?, outputs: Int) -> Resolved {
        var a = [Float](repeating: 1, count: outputs)
        var c = (0..<outputs).map { bias?[$0] ?? 0 }
        if let (blobs, eps) = batchNorm {
            let s = blobs[2].data[0] == 0 ? 0 : 1 / blobs[2].data[0]
            for o in 0..<outputs {
                let inv = 1 / (blobs[1].data[o] * s + eps).squareRoot()
                a[o] *= inv
                c[o] = (c[o] - blobs[0].data[o] * s) * inv
            }
        }
        if let scale {
            for o in 0..<outputs {
                let g = scale[0].data[o], b = scale.count > 1 ? scale[1].data[o] : 0
                a[o] *= g
                c[o] = c[o] * g + b
            }
        }
        let affine = batchNorm != nil || scale != nil
        return Resolved(scale: affine ? a : nil, shift: c, slope: slope, ceiling: ceiling)
    }
}
