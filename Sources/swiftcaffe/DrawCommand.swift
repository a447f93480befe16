import ArgumentParser
import Foundation
import SwiftCaffe

struct DrawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "draw",
        abstract: "Draw a net as Graphviz DOT, or as SVG/PNG/PDF through Graphviz's dot.")

    @Argument(help: "A net prototxt.")
    var file: String

    @Option(name: .shortAndLong, help: "Output file: .dot/.gv, or .svg/.png/.pdf (needs Graphviz).")
    var output: String

    @Option(help: "Graph direction: LR, TB, RL or BT.")
    var rankdir: String = "LR"

    @OptionGroup var state: NetStateOptions
    @OptionGroup var parse: ParseOptions

    func run() throws {
        guard ["LR", "TB", "RL", "BT"].contains(rankdir) else { throw CaffeError.usage("--rankdir must be LR, TB, RL or BT, found '\(rankdir)'") }
        let ext = (output as NSString).pathExtension.lowercased()
        guard ["dot", "gv", "svg", "png", "pdf"].contains(ext) else {
            throw CaffeError.usage("-o must end in .dot, .gv, .svg, .png or .pdf, found '\(output)'")
        }
        try refuseOverwritingInputs(output: output, inputs: [("net file", file)])
        let n = try ModelFile.loadNet(path: file, options: parse.prototxt)
        printWarnings(n.warnings, source: n.source)
        let g = try buildGraph(n, options: .init(state: state.state(default: .test), inputShapes: state.shapes))
        let dot = DotWriter.dot(g, rankdir: rankdir)
        if ext == "dot" || ext == "gv" {
            try write(dot, to: output)
            return
        }
        try render(dot, format: ext)
    }

    private func render(_ dot: String, format: String) throws {
        guard let dotPath = findExecutable("dot") else {
            throw CaffeError.io(path: output, reason: "drawing .\(format) needs Graphviz's 'dot', which is not installed "
                                + "(Debian: apt-get install graphviz); or write DOT with -o net.dot")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: dotPath)
        p.arguments = ["-T\(format)"]
        let input = Pipe(), picture = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = picture
        p.standardError = errors
        try p.run()
        // dot's output is read while it is written (a pipe holds 64 KiB), then put in place atomically.
        let reader = PipeReader(picture.fileHandleForReading)
        input.fileHandleForWriting.write(Data(dot.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        let bytes = reader.wait()
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else { throw CaffeError.io(path: output, reason: "Graphviz's dot failed: \(err)") }
        try bytes.withUnsafeBytes { try AtomicFile.write($0, to: output) }
    }

    private func findExecutable(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}
