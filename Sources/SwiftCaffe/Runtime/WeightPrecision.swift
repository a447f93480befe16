/// How an inference net stores the weights of its fully connected and
/// convolution layers (`Net.storeWeights(as:)`, `--weights-precision`): at
/// batch 1 an InnerProduct reads each weight once, so the pass is bound by
/// their bytes, and a convolution's product reads them once per image.
public enum WeightPrecision: String, Sendable, CaseIterable {
    case fp32, fp16, bf16

    /// The bit patterns of `count` floats at this precision, rounded to the
    /// nearest (ties to even); NaN stays NaN, values beyond fp16's range
    /// become ±infinity.
    func bits(of values: UnsafePointer<Float>, count: Int) -> [UInt16] {
        switch self {
        case .fp32:
            preconditionFailure("fp32 weights are the floats themselves")
        case .fp16:
            return (0..<count).map { Float16(values[$0]).bitPattern }
        case .bf16:
            return (0..<count).map { i in
                let b = values[i].bitPattern
                if values[i].isNaN { return UInt16(b >> 16) | 0x40 }
                return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
            }
        }
    }

    /// A float rounded to this precision and back (what the layers compute with).
    public func rounded(_ x: Float) -> Float {
        switch self {
        case .fp32: return x
        case .fp16: return Float(Float16(x))
        case .bf16: return x.isNaN ? x : Float(bitPattern: UInt32(bits(of: [x], count: 1)[0]) << 16)
        }
    }
}

/// A layer's weights kept at fp16 or bfloat16 for inference
/// (`Net.storeWeights(as:)`): InnerProduct and Convolution hold one.
struct CompactWeights {
    let precision: WeightPrecision
    let bits: [UInt16]

    /// The bit patterns of `weights` at `precision`; nil for fp32 (the floats themselves).
    init?(_ weights: Blob, as precision: WeightPrecision) {
        guard precision != .fp32 else { return nil }
        (self.precision, bits) = (precision, precision.bits(of: weights.data, count: weights.count))
    }

    /// Why a backward pass through the layer is refused.
    var backwardRefusal: String { "its weights are stored as \(precision.rawValue) for inference; a backward pass needs fp32 weights" }
}

extension Net {
    /// Keeps the InnerProduct weights (all but transposed ones) and the
    /// Convolution weights at `precision` for the forward passes that
    /// follow, widened to float as they are read (convolutions whose engine
    /// needs floats, such as Winograd's, get floats rounded to `precision`,
    /// so the results do not depend on the engine); `.fp32` goes back to
    /// the floats. The copy is made from
    /// the current weights, so load them first; the fp32 weights are kept
    /// too (reading `params` shows them unrounded). Returns the layers
    /// changed. Inference only: a backward pass through such a layer fails.
    @discardableResult
    public func storeWeights(as precision: WeightPrecision) -> [String] {
        var changed: [String] = []
        for l in layers {
            if let ip = l as? InnerProductLayer {
                ip.storeWeights(as: precision)
                if ip.compactWeights != nil || precision == .fp32 { changed.append(ip.name) }
            } else if let conv = l as? ConvolutionLayer {
                conv.storeWeights(as: precision)
                changed.append(conv.name)
            }
        }
        return changed
    }
}
