import ArgumentParser
import Foundation
import SwiftCaffe

/// `swiftcaffe`: exit 0 on success, 1 for a bad model or data file, 2 for bad usage.
struct SwiftCaffeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcaffe",
        abstract: "Read, inspect and convert Caffe nets and solvers.",
        version: "\(SwiftCaffeVersion.string)\nBLAS: \(BLAS.summary)",
        subcommands: [TrainCommand.self, TestCommand.self, CompareCommand.self, PlotCommand.self, ConvertImagesetCommand.self, ConvertIDXCommand.self, ComputeImageMeanCommand.self, SummaryCommand.self, DrawCommand.self, DeployCommand.self, UpgradeCommand.self, TimeCommand.self, ForwardCommand.self, MeanCommand.self, ExportWeightsCommand.self, ClassifyCommand.self]
    )
}

// Before any BLAS work: may restart the process with a tuned OpenBLAS kernel.
KernelSelection.selectAtLaunch()
if let n = KernelSelection.note { FileHandle.standardError.write(Data((rankPrefix + n + "\n").utf8)) }

do {
    var command = try SwiftCaffeCommand.parseAsRoot()
    do {
        try command.run()
    } catch let e as CaffeError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        if case .usage = e { exit(2) }
        exit(1)
    } catch let e as ExitCode {
        exit(e.rawValue)
    } catch {
        SwiftCaffeCommand.exit(withError: error)
    }
} catch {
    let code = SwiftCaffeCommand.exitCode(for: error)
    let message = SwiftCaffeCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        exit(0)
    }
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}
