import ArgumentParser
import Foundation
import SwiftCaffe

struct UpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Rewrite a net or solver prototxt from any older Caffe syntax in the current one, listing the changes.")

    @Argument(help: "The old net or solver prototxt.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the result (default: standard output).")
    var output: String?

    @OptionGroup var parse: ParseOptions

    func run() throws {
        let bytes = try readFile(file)
        let kind = PrototxtKind.detect(bytes: bytes, file: file)
        let text: String
        let notes: [UpgradeNote]
        if kind == .solver {
            let s = try ModelFile.loadSolver(path: file, options: parse.prototxt)
            printWarnings(s.warnings)
            text = PrototxtPrinter.print(s.message)
            notes = s.upgrades
        } else {
            let n = try ModelFile.loadNet(bytes: bytes, file: file, options: parse.prototxt)
            printWarnings(n.warnings, source: n.source)
            text = PrototxtPrinter.print(n.message)
            notes = n.upgrades
        }
        try write(text, to: output)
        if notes.isEmpty {
            note("\(file): \(kind.rawValue) is already in current syntax; written unchanged in canonical form")
        } else {
            note("\(file): upgraded \(kind.rawValue):")
            for n in notes { note("  - \(n.message)") }
        }
    }
}

/// Writes text to a file (through a temporary file, so a failure never leaves
/// half a file) or to standard output.
func write(_ text: String, to path: String?) throws {
    guard let path else {
        print(text, terminator: "")
        return
    }
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CaffeError.io(path: path, reason: "cannot write: \(error.localizedDescription)")
    }
}
