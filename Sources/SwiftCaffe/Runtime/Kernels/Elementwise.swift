/// Splits 0..<n into chunks of at least `grain` elements run by
/// `Parallel.forEach`, for element-wise loops.
@inline(__always)
func parallelRanges(_ n: Int, grain: Int = 16_384, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = max(1, min(Parallel.threads * 4, (n + grain - 1) / grain))
    let size = (n + chunks - 1) / chunks
    Parallel.forEach(chunks) { c in
        let lo = c * size
        let hi = min(n, lo + size)
        if lo < hi { body(lo..<hi) }
    }
}

/// The three read/write pointers of an element-wise layer.
struct ElementwisePointers: @unchecked Sendable {
    let x: UnsafeMutablePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let dy: UnsafeMutablePointer<Float>
    let dx: UnsafeMutablePointer<Float>

    init(bottom: Blob, top: Blob) {
        x = bottom.data
        y = top.data
        dy = top.diff
        dx = bottom.diff
    }

    private init(x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                 dx: UnsafeMutablePointer<Float>) {
        self.x = x
        self.y = y
        self.dy = dy
        self.dx = dx
    }

    func with(x: UnsafeMutablePointer<Float>) -> ElementwisePointers { ElementwisePointers(x: x, y: y, dy: dy, dx: dx) }
}

/// Element-wise layers: y = f(x) and dx = f'(x)·dy per element. Caffe runs
/// these in place; `forwardElement` sees x before it is overwritten, and
/// `backwardElement` gets the top value (and the bottom's, equal to the top
/// when in place, as Caffe's own layers assume).
class NeuronLayer: Layer {
    func forwardElement(_ x: Float) -> Float { x }
    func backwardElement(x: Float, y: Float, dy: Float) -> Float { dy }
    /// Whether backward reads the bottom's value (then an in-place layer keeps a copy).
    var backwardReadsBottom: Bool { false }
    private var savedBottom = Blob()

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        if bottoms[0] === tops[0], backwardReadsBottom {
            try reshape(savedBottom, to: bottoms[0].shape, what: "its copy of the in-place input")
            savedBottom.data.update(from: bottoms[0].data, count: bottoms[0].count)
        }
        let p = ElementwisePointers(bottom: bottoms[0], top: tops[0])
        let layer = UncheckedLayer(self)
        parallelRanges(bottoms[0].count) { r in
            for i in r { p.y[i] = layer.neuron.forwardElement(p.x[i]) }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let direct = ElementwisePointers(bottom: bottoms[0], top: tops[0])
        let p = bottoms[0] === tops[0] && backwardReadsBottom ? direct.with(x: savedBottom.data) : direct
        let layer = UncheckedLayer(self)
        parallelRanges(bottoms[0].count) { r in
            for i in r { p.dx[i] = layer.neuron.backwardElement(x: p.x[i], y: p.y[i], dy: p.dy[i]) }
        }
    }
}

/// A layer reference for parallel loops; the layer is read-only while they run.
struct UncheckedLayer: @unchecked Sendable {
    let neuron: NeuronLayer
    init(_ n: NeuronLayer) { neuron = n }
}
