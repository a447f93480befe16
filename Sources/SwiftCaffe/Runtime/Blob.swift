import Foundation

/// 64-byte aligned Float storage that only grows.
final class AlignedStorage {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        pointer = AlignedStorage.allocate(self.capacity)
    }

    deinit {
        free(pointer)
        MemoryBudget.give(capacity * 4)
    }

    /// Makes room for n floats; contents are kept when they fit, else zeroed.
    /// What a file or command line sizes is checked against the MemoryBudget
    /// before it gets here (Net, Layer.reshape).
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        free(pointer)
        MemoryBudget.give(capacity * 4)
        capacity = n
        pointer = AlignedStorage.allocate(n)
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, n * MemoryLayout<Float>.stride) == 0, let r = raw else {
            fatalError("out of memory allocating \(n) floats, after the memory budget allowed them")
        }
        MemoryBudget.take(n * 4)
        let p = r.bindMemory(to: Float.self, capacity: n)
        p.initialize(repeating: 0, count: n)
        return p
    }
}

/// An N-D array of Float32 values (`data`) and their gradients (`diff`), as
/// Caffe's Blob. Reshaping keeps the storage when the new count fits. The
/// gradient storage exists only once something asks for it, so a net that
/// only runs forward holds one copy of its weights and activations.
public final class Blob {
    public private(set) var shape: Shape = []
    public private(set) var count = 0
    private let dataStorage: AlignedStorage
    private var diffStorage: AlignedStorage?

    public init(_ shape: Shape = []) {
        dataStorage = AlignedStorage(capacity: max(SwiftCaffe.count(shape), 1))
        reshape(shape)
    }

    /// A blob whose data is the other's, as Caffe's ShareData: a Split's
    /// tops read their bottom's values without a copy. Diffs stay apart.
    init(_ shape: Shape, sharingDataOf other: Blob) {
        dataStorage = other.dataStorage
        reshape(shape)
    }

    public func reshape(_ s: Shape) {
        shape = s
        count = SwiftCaffe.count(s)
        dataStorage.reserve(count)
        diffStorage?.reserve(count)
    }

    /// Reshapes to a shape a program gives (pycaffe's `blob.reshape`): an
    /// error, not a trap, for a negative or too large dimension or for more
    /// memory than there is. Values are kept in memory order up to the old
    /// count, as Caffe's Blob::Reshape leaves them.
    public func checkedReshape(_ s: Shape) throws {
        guard s.allSatisfy({ $0 >= 0 && $0 <= SizeLimit.dimension }), SwiftCaffe.count(s) <= SizeLimit.blob else {
            throw CaffeError.usage("cannot reshape a blob to \(describe(s)): each dimension must be 0 to 2^31, at most 2^40 values in all")
        }
        let bytes = growth(to: s)
        if let short = MemoryBudget.shortfall(bytes) {
            throw CaffeError.usage("reshaping a blob to \(describe(s)) needs \(MemoryBudget.describe(bytes)), \(short)")
        }
        reshape(s)
    }

    /// Bytes a reshape to `s` would allocate (0 when the storage is large enough).
    func growth(to s: Shape) -> Int {
        let n = SwiftCaffe.count(s)
        func extra(_ st: AlignedStorage?) -> Int { st.map { n > $0.capacity ? MemoryBudget.floats(n) - $0.capacity * 4 : 0 } ?? 0 }
        return extra(dataStorage) &+ extra(diffStorage)
    }

    /// Bytes the first use of `diff` would allocate (0 once it exists).
    var diffBytesToAllocate: Int { diffStorage == nil ? MemoryBudget.floats(max(count, 1)) : 0 }

    public var data: UnsafeMutablePointer<Float> { dataStorage.pointer }

    func sharesData(with other: Blob) -> Bool { dataStorage === other.dataStorage }

    public var diff: UnsafeMutablePointer<Float> {
        if let d = diffStorage { return d.pointer }
        let d = AlignedStorage(capacity: max(count, 1))
        diffStorage = d
        return d.pointer
    }
    public var dataBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var diffBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: diff, count: count) }

    public var numAxes: Int { shape.count }
    public func dim(_ axis: Int) -> Int { shape[axis < 0 ? axis + shape.count : axis] }
    public func count(from a: Int, to b: Int? = nil) -> Int { SwiftCaffe.count(shape, from: a, to: b) }

    public func zeroData() { data.update(repeating: 0, count: count) }
    public func zeroDiff() { diff.update(repeating: 0, count: count) }

    /// A copy of the values, for tests and tools.
    public var values: [Float] { Array(dataBuffer) }
    public var gradients: [Float] { Array(diffBuffer) }

    public func set(_ values: [Float]) {
        precondition(values.count == count, "set: \(values.count) values for a blob of \(count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }
}
