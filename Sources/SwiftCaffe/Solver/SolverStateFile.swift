import CaffeSchema
import CProtobufC
import Foundation

/// Caffe's binary SolverState (.solverstate): the iteration, the weights
/// file written beside it, the update rule's history blobs and the current
/// lr step, plus SwiftCaffe's two fields in numbers Caffe skips (the solver
/// type, and how many batches each training data layer has delivered).
public struct SolverState: Sendable {
    public var iteration: Int
    public var learnedNet: String
    public var history: [(shape: Shape, values: [Float])]
    public var currentStep: Int
    /// Absent in files Caffe wrote.
    public var solverType: String?
    public var dataBatches: [Int]
    /// Records each data layer consumed, all ranks together (empty in states
    /// written before data-parallel training existed).
    public var dataRecords: [Int] = []
    /// Records each data layer of the test nets has read (net by net, in
    /// layer order); empty in states written before it was kept.
    public var testDataRecords: [Int] = []

    public static func read(path: String) throws -> SolverState {
        let bytes = try readFile(path)
        return try bytes.withUnsafeBytes { raw -> SolverState in
            // The common mix-up: weights given where a solver state belongs.
            // A NetParameter starts with its name (field 1, length-delimited);
            // a SolverState's field 1 is the iteration (a varint).
            func weightsMixUp() -> CaffeError? {
                guard (try? WireCheck.check(raw, as: CaffeSchema.netParameter, file: path)) != nil else { return nil }
                return CaffeError.io(path: path, reason: "this is a .caffemodel (net weights), not a .solverstate; "
                                     + "to start training from these weights use --weights \(path)")
            }
            if bytes.first == 0x0A || bytes.starts(with: [0xA2, 0x06]), let e = weightsMixUp() { throw e }
            do {
                try WireCheck.check(raw, as: CaffeSchema.solverState, file: path)
            } catch {
                throw weightsMixUp() ?? error
            }
            guard let m = caffe__solver_state__unpack(nil, raw.count, raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) else {
                throw weightsMixUp() ?? CaffeError.io(path: path, reason: "libprotobuf-c could not decode it as a SolverState")
            }
            defer { caffe__solver_state__free_unpacked(m, nil) }
            let s = m.pointee
            // Values the format can hold but no training writes.
            guard s.iter >= 0 else { throw CaffeError.io(path: path, reason: "its iteration (iter) is \(s.iter); a solver state's is ≥ 0: the file is corrupt") }
            guard s.current_step >= 0 else {
                throw CaffeError.io(path: path, reason: "its current_step is \(s.current_step); a solver state's is ≥ 0: the file is corrupt")
            }
            func counts(_ n: Int, _ values: UnsafePointer<Int64>?, _ what: String) throws -> [Int] {
                try (0..<n).map { i in
                    guard values![i] >= 0, values![i] <= 1 << 56 else {
                        throw CaffeError.io(path: path, reason: "\(what) \(i) is said to hold \(values![i]): the file is corrupt")
                    }
                    return Int(values![i])
                }
            }
            let batches = try counts(Int(s.n_data_batches), s.data_batches, "the batch count of data layer")
            let records = try counts(Int(s.n_data_records), s.data_records, "the record count of data layer")
            let testRecords = try counts(Int(s.n_test_data_records), s.test_data_records, "the record count of test data layer")
            var history: [(Shape, [Float])] = []
            for i in 0..<Int(s.n_history) {
                let b = s.history[i]!.pointee
                let shape: Shape = b.shape.map { sp in (0..<Int(sp.pointee.n_dim)).map { Int(sp.pointee.dim[$0]) } }
                    ?? [Int(b.num), Int(b.channels), Int(b.height), Int(b.width)]
                let values: [Float] = b.n_data > 0 ? Array(UnsafeBufferPointer(start: b.data, count: Int(b.n_data)))
                    : (0..<Int(b.n_double_data)).map { Float(b.double_data[$0]) }
                history.append((shape, values))
            }
            return SolverState(iteration: Int(s.iter), learnedNet: s.learned_net.map { String(cString: $0) } ?? "",
                               history: history, currentStep: Int(s.current_step),
                               solverType: s.solver_type.map { String(cString: $0) },
                               dataBatches: batches, dataRecords: records, testDataRecords: testRecords)
        }
    }

    /// Writes a state whose history lives in `historyBlobs` (packed from where it lives).
    static func write(iteration: Int, learnedNet: String, historyBlobs: [Blob], currentStep: Int, solverType: String,
                      dataBatches: [Int], dataRecords: [Int], testDataRecords: [Int], to path: String) throws {
        let arena = CMessageArena()
        var state = Caffe__SolverState()
        caffe__solver_state__init(&state)
        (state.has_iter, state.iter) = (1, Int32(iteration))
        state.learned_net = arena.cString(learnedNet)
        (state.has_current_step, state.current_step) = (1, Int32(currentStep))
        state.solver_type = arena.cString(solverType)
        let blobs = arena.array(historyBlobs.count, of: UnsafeMutablePointer<Caffe__BlobProto>?.self)
        for (i, h) in historyBlobs.enumerated() { blobs[i] = arena.blob(shape: h.shape, data: h.data, count: h.count) }
        (state.n_history, state.history) = (historyBlobs.count, blobs)
        (state.n_data_batches, state.data_batches) = arena.int64s(dataBatches)
        (state.n_data_records, state.data_records) = arena.int64s(dataRecords)
        (state.n_test_data_records, state.test_data_records) = arena.int64s(testDataRecords)

        let size = withUnsafePointer(to: &state) { caffe__solver_state__get_packed_size($0) }
        try AtomicFile.writePacked(size: size, to: path) { buffer in withUnsafePointer(to: &state) { caffe__solver_state__pack($0, buffer) } }
        withExtendedLifetime(arena) {}
    }
}
