/// Scratch memory shared by the layers of one net (they run one at a time):
/// column matrices and GEMM results live here instead of in every layer,
/// which keeps a net's peak memory near its largest layer's need.
public final class Workspace {
    private var slots: [AlignedStorage] = []

    public init() {}

    /// At least `count` floats in slot `i`; contents are not kept between layers.
    func buffer(_ i: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while slots.count <= i { slots.append(AlignedStorage(capacity: 1)) }
        slots[i].reserve(count)
        return slots[i].pointer
    }

    /// Floats held, for memory reports.
    public var capacity: Int { slots.reduce(0) { $0 + $1.capacity } }
}
