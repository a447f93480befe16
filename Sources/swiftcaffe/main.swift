import ArgumentParser
import Foundation
import SwiftCaffe

/// `swiftcaffe`: exit 0 on success, 1 for a bad model or data file, 2 for bad usage.
struct SwiftCaffeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcaffe",
        abstract: "Run, train, inspect and convert Caffe models on the CPU.",
        discussion: """
            Reads Caffe net and solver prototxt files of every syntax and .caffemodel weights of every format. \
            Exit status: 0 on success, 1 for a bad model or data file, 2 for bad usage, 3 when forward --compare \
            finds a blob that differs, 130 when a signal stopped training. OPENBLAS_CORETYPE, when set, is respected.
            """,
        version: "\(SwiftCaffeVersion.string)\nBLAS: \(BLAS.summary)" + (KernelSelection.note.map { "\n" + $0 } ?? ""),
        subcommands: [TrainCommand.self, TestCommand.self, CompareCommand.self, PlotCommand.self, ConvertImagesetCommand.self, ConvertIDXCommand.self, ComputeImageMeanCommand.self, SummaryCommand.self, DrawCommand.self, DeployCommand.self, UpgradeCommand.self, TimeCommand.self, ForwardCommand.self, MeanCommand.self, ExportWeightsCommand.self, ClassifyCommand.self, DetectCommand.self, ExportOnnxCommand.self]
    )
}

// Before any BLAS work: may restart the process with a tuned OpenBLAS kernel.
KernelSelection.selectAtLaunch()
// A kernel SwiftCaffe switched to and checked is reported by --version and
// the train log's BLAS line; only a warning goes to every command's stderr,
// whose output scripts compare.
if let n = KernelSelection.note, n.hasPrefix("warning") { writeStandardError(rankPrefix + n + "\n") }

/// Exits, first making sure what was printed reached standard output.
func finish(_ code: Int32) -> Never {
    if let failure = standardOutputFailure() {
        writeStandardError(failure + "\n")
        exit(code == 0 ? 1 : code)
    }
    exit(code)
}

/// SIGINT or SIGTERM ends a command at once, but first removes what it had
/// not finished writing (temporary files, a new database). `train` installs
/// its own handling: a snapshot, then a stop.
func removePartialOutputsOnSignal() {
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { quitOnSignal(sig, "signal \(sig): stopped; nothing half-written was left") }
        source.resume()
        signalSources.append(source)
    }
}
nonisolated(unsafe) var signalSources: [DispatchSourceSignal] = []

do {
    var command = try SwiftCaffeCommand.parseAsRoot()
    if !(command is TrainCommand) { removePartialOutputsOnSignal() }
    do {
        try MemoryBudget.checkSetting()
        try command.run()
    } catch let e as CaffeError {
        writeStandardError(e.description + "\n")
        if case .usage = e { finish(2) }
        finish(1)
    } catch let e as ExitCode {
        finish(e.rawValue)
    } catch {
        SwiftCaffeCommand.exit(withError: error)
    }
    finish(0)
} catch {
    let code = SwiftCaffeCommand.exitCode(for: error)
    let message = SwiftCaffeCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        finish(0)
    }
    writeStandardError(message + "\n")
    exit(2)
}
