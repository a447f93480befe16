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

    @Option(parsing: .unconditional, help: "LR/RL: start a new row after this many layers, at the next blob all later layers depend on (0: one row).")
    var wrap = 6

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
        if wrap < 0 { throw CaffeError.usage("--wrap must be 0 or more, found \(wrap)") }
        let dot = DotWriter.dot(g, rankdir: rankdir, wrap: wrap)
        if ext == "dot" || ext == "gv" {
            try write(dot, to: output)
            return
        }
        try Pictures.writeGraph(dot, format: ext, to: output)
    }
}
