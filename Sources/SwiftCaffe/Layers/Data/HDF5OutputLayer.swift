import Foundation

/// HDF5Output: writes its two bottoms to file_name; no tops.
struct HDF5OutputPlan: LayerPlan {
    static let type = "HDF5Output"
    static let bottoms = 2...2
    static let tops = 0...0
    let fileName: String

    init(_ l: LayerParameter) throws {
        let p = l.proto.hdf5OutputParam
        fileName = p.fileName
        guard !fileName.isEmpty else {
            throw PlanError("hdf5_output_param needs a file_name to write", at: p.location ?? l.location)
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].first == b[1].first else {
            throw PlanError("data and label need the same count along axis 0, found \(describe(b[0])) and \(describe(b[1]))")
        }
        return PlannedShapes(tops: [])
    }
}

/// Caffe's HDF5Output: the first bottom goes to the dataset "data", the
/// second to "label", as float, in Caffe's num × channels × height × width
/// (fewer axes padded with 1). Caffe writes one batch and fails on the next
/// forward; here every forward appends its rows, so a `test` run of N
/// iterations leaves N batches. The file is written under a temporary name
/// and put in place after the first batch, so a failed start leaves an
/// earlier file as it was; later batches are flushed as they come.
final class HDF5OutputLayer: Layer {
    static let datasets = ["data", "label"]
    private let target: OutputTarget
    private var file: HDF5File?

    required init(_ ctx: LayerContext) throws {
        let name = ctx.plan(HDF5OutputPlan.self).fileName
        target = try OutputTarget.resolve(name)
        try super.init(ctx)
        if target.isStream { throw fail("\(name) is a device or a pipe; an HDF5 file must be a regular file") }
    }

    deinit { try? file?.close() }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let isFirst = file == nil
        let writing = isFirst ? target.temporarySibling() : target.path
        do {
            if isFirst {
                PartialOutputs.register(file: writing)
                file = try HDF5File.create(writing)
            }
            for (name, b) in zip(Self.datasets, bottoms) {
                let s = b.shape.count <= 4 ? b.shape + Array(repeating: 1, count: 4 - b.shape.count) : b.shape
                try file!.append(name, shape: s, values: b.data)
            }
            if isFirst {
                // Flushed before it replaces anything; the open file follows the rename.
                try file!.flush()
                guard rename(writing, target.path) == 0 else {
                    throw OutputFile.failure(target.requested, errno: errno)
                }
                PartialOutputs.unregister(writing)
            } else {
                try file!.flush()
            }
        } catch let e as CaffeError {
            if isFirst {
                try? file?.close()
                file = nil
                unlink(writing)
                PartialOutputs.unregister(writing)
            }
            throw fail("cannot write \(target.requested): \(e)")
        }
    }

    /// Nothing flows back from a file.
    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        for (i, b) in bottoms.enumerated() where propagateDown[i] { b.zeroDiff() }
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }
}
