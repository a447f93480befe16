import CKernels
import Foundation

/// Writes to standard error directly (unbuffered, as C's stderr), so lines
/// from the log, the progress bar and notes keep their order.
public func writeStandardError(_ text: String) {
    // A failure has nowhere left to be reported.
    _ = Array(text.utf8).withUnsafeBytes { OutputFile.writeAll(STDERR_FILENO, $0) }
}

/// Whether everything printed reached standard output: flushes it and says
/// why not (`summary > /dev/full` must not end with exit status 0).
public func standardOutputFailure() -> String? {
    let e = sc_flush_stdout()
    guard e != 0 else { return nil }
    return "error: cannot write to standard output: " + OutputFile.failure("", errno: e, kept: false).reason.replacingOccurrences(of: "cannot write: ", with: "")
}

/// Reads a pipe to its end on another thread, so that a child process
/// writing much to it never blocks while its parent waits for something else.
public final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    /// Everything the pipe delivered, once its writer has closed it.
    public func wait() -> Data {
        done.wait()
        return data
    }
}
