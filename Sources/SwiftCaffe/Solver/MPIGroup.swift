#if SWIFTCAFFE_MPI
import CMPI
import Foundation

/// The ranks of an `mpirun` job (Open MPI), for data-parallel training.
/// MPI calls come from the training thread only (MPI_THREAD_FUNNELED);
/// errors are returned, not fatal, and become messages that name the rank.
public final class MPIGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    private var requests: [MPI_Request?] = []

    public init() throws {
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        guard rc == MPI_SUCCESS else { throw CaffeError.usage("MPI_Init_thread failed (\(rc)): is this run under mpirun?") }
        MPI_Comm_set_errhandler(sc_mpi_comm_world(), sc_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(sc_mpi_comm_world(), &r)
        MPI_Comm_size(sc_mpi_comm_world(), &s)
        (rank, size) = (Int(r), Int(s))
    }

    /// MPI_Finalize; after it no MPI call may be made.
    public func finish() { MPI_Finalize() }

    /// Ends every rank of the job (a rank that cannot go on).
    public func abort(code: Int32) { MPI_Abort(sc_mpi_comm_world(), code) }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw CaffeError.usage("rank \(rank): \(what) failed: \(message)")
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int) throws {
        // MPI counts are 32-bit: large buffers go in pieces.
        var offset = 0
        while offset < bytes {
            let n = min(bytes - offset, 1 << 30)
            try check(MPI_Bcast(buffer + offset, Int32(n), sc_mpi_byte(), 0, sc_mpi_comm_world()), "MPI_Bcast")
            offset += n
        }
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var all = [UInt8](repeating: 0, count: bytes.count * size)
        var mine = bytes
        try mine.withUnsafeMutableBytes { m in
            try all.withUnsafeMutableBytes { a in
                try check(MPI_Allgather(m.baseAddress, Int32(bytes.count), sc_mpi_byte(), a.baseAddress, Int32(bytes.count), sc_mpi_byte(),
                                        sc_mpi_comm_world()), "MPI_Allgather")
            }
        }
        return (0..<size).map { Array(all[$0 * bytes.count..<($0 + 1) * bytes.count]) }
    }

    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        var offset = 0
        while offset < count {
            let n = min(count - offset, 1 << 28)
            var request: MPI_Request? = sc_mpi_request_null()
            try check(MPI_Iallreduce(sc_mpi_in_place(), buffer + offset, Int32(n), sc_mpi_float(), sc_mpi_sum(), sc_mpi_comm_world(), &request),
                      "MPI_Iallreduce")
            requests.append(request)
            offset += n
        }
    }

    public func poll() throws {
        guard !requests.isEmpty else { return }
        var done: Int32 = 0
        try check(MPI_Testall(Int32(requests.count), &requests, &done, sc_mpi_statuses_ignore()), "MPI_Testall")
        if done != 0 { requests.removeAll() }
    }

    /// Seconds a sum may wait for the other ranks before this rank gives up:
    /// a rank that died without its connections closing (a host lost, a
    /// network cut) would otherwise leave the others waiting for ever.
    /// SWIFTCAFFE_MPI_TIMEOUT, default 600 (a slow rank's whole iteration).
    public static let timeout = Double(ProcessInfo.processInfo.environment["SWIFTCAFFE_MPI_TIMEOUT"] ?? "") ?? 600

    public func finishSums() throws {
        guard !requests.isEmpty else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Self.timeout * 1e9)
        var done: Int32 = 0
        while true {
            try check(MPI_Testall(Int32(requests.count), &requests, &done, sc_mpi_statuses_ignore()), "MPI_Testall")
            if done != 0 { break }
            if DispatchTime.now().uptimeNanoseconds > deadline {
                throw CaffeError.usage("rank \(rank): the gradient sum did not complete within \(Int(Self.timeout)) s "
                                       + "(SWIFTCAFFE_MPI_TIMEOUT): another rank, or the network to it, was lost")
            }
        }
        requests.removeAll()
    }

    public func max(_ value: Int32) throws -> Int32 {
        var v = value, out: Int32 = 0
        try check(MPI_Allreduce(&v, &out, 1, sc_mpi_int(), sc_mpi_max(), sc_mpi_comm_world()), "MPI_Allreduce")
        return out
    }
}
#endif
