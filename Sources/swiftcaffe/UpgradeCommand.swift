import ArgumentParser
import Foundation
import SwiftCaffe

struct UpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Rewrite a net or solver prototxt, or a .caffemodel, from any older Caffe format in the current one, listing the changes.",
        discussion: "Weights are written as float32 unless --to-fp16 asks for float16 (OpenCV's half-precision files), read wherever --weights is.")

    @Argument(help: "The old net or solver prototxt, or weights (.caffemodel).")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the result (default: standard output).")
    var output: String?

    @Flag(help: "Store the weights as float16 (raw_data FLOAT16, as OpenCV's shrinkCaffeModel): half the size.")
    var toFp16 = false

    @Flag(help: "Store the weights as float32 (the default; undoes --to-fp16).")
    var toFp32 = false

    @OptionGroup var parse: ParseOptions

    func validate() throws {
        if toFp16 && toFp32 { throw ValidationError("give --to-fp16 or --to-fp32, not both") }
    }

    func run() throws {
        // Upgrading in place would lose the original if the upgrade is wrong: write beside it.
        if let output { try refuseOverwritingInputs(output: output, inputs: [("file being upgraded", file)]) }
        if file.hasSuffix(".caffemodel") || isBinary(file) { return try upgradeWeights() }
        if toFp16 || toFp32 { throw CaffeError.usage("--to-fp16 and --to-fp32 apply to weights (.caffemodel), not to \(file)") }
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
        try CaffeModelWriter.upgrade(model, to: out, precision: toFp16 ? .float16 : .float32)
        let blobs = model.layers.reduce(0) { $0 + $1.blobs.count }
        let wasHalf = model.layers.contains { $0.blobs.contains(where: \.isHalf) }
        if toFp16 || wasHalf {
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? nil
            note("\(file): \(wasHalf ? "float16" : "float32") → \(toFp16 ? "float16" : "float32") values"
                 + (size.map { ", \(NumberText.grouped(model.fileSize)) → \(NumberText.grouped($0)) bytes" } ?? ""))
        }
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
