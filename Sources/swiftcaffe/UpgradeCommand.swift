import ArgumentParser
import Foundation
import SwiftCaffe

struct UpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Rewrite a net or solver prototxt, or a .caffemodel, from any older Caffe format in the current one, listing the changes.")

    @Argument(help: "The old net or solver prototxt, or weights (.caffemodel).")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the result (default: standard output).")
    var output: String?

    @OptionGroup var parse: ParseOptions

    func run() throws {
        // Upgrading in place would lose the original if the upgrade is wrong: write beside it.
        if let output { try refuseOverwritingInputs(output: output, inputs: [("file being upgraded", file)]) }
        if file.hasSuffix(".caffemodel") || isBinary(file) { return try upgradeWeights() }
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

extension UpgradeCommand {
    /// Whether the file starts with bytes no prototxt has.
    func isBinary(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = [UInt8](h.readData(ofLength: 256))
        return head.contains { $0 < 0x09 || ($0 > 0x0D && $0 < 0x20) }
    }

    func upgradeWeights() throws {
        guard let out = output else {
            throw CaffeError.usage("give -o NEW.caffemodel: weights are binary and are not written to the terminal")
        }
        let model = try CaffeModel(path: file)
        try CaffeModelWriter.upgrade(model, to: out)
        let blobs = model.layers.reduce(0) { $0 + $1.blobs.count }
        if model.format == .v2 {
            note("\(file): weights are already current (V2); rewritten with \(model.layers.count) layers, \(blobs) blobs")
        } else {
            note("\(file): upgraded weights \(model.format.rawValue) → V2 (layer): \(model.layers.count) layers, \(blobs) blobs kept as stored")
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
    try AtomicFile.write(text, to: path)
}
