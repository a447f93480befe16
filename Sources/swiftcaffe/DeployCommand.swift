import ArgumentParser
import Foundation
import SwiftCaffe

struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Make a deploy net from a train_val net: data layers → Input, loss → Softmax, accuracy and train/test-only layers dropped.")

    @Argument(help: "The train_val net prototxt.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the deploy net (default: standard output).")
    var output: String?

    @Option(name: .customLong("input-shape"), help: "Shape of the data blob, e.g. data=10,3,227,227 (repeatable).")
    var inputShapes: [InputShape] = []

    @Option(name: .customLong("stage"), help: "A NetState stage of the TEST net (repeatable).")
    var stages: [String] = []

    @OptionGroup var parse: ParseOptions

    func run() throws {
        if let output { try refuseOverwritingInputs(output: output, inputs: [("train_val net", file)]) }
        let n = try ModelFile.loadNet(path: file, options: parse.prototxt)
        printWarnings(n.warnings, source: n.source)
        var shapes = Dictionary(inputShapes.map { ($0.name, $0.dims) }, uniquingKeysWith: { _, b in b })
        // Data layers' shapes come from their first record (batch 1 in the deploy net).
        if n.net.layers.contains(where: { $0.type == "Data" || $0.type == "ImageData" }),
           let probed = try? DataShapes.probe(n.net, state: NetState(phase: .test, stages: stages)) {
            for (top, shape) in probed where shapes[top] == nil {
                shapes[top] = [1] + shape.dropFirst()
                note("note: '\(top)' is \(shape.dropFirst().map(String.init).joined(separator: "×")) per image, read from the data; batch 1")
            }
        }
        let r: DeployMaker.Result
        do {
            r = try DeployMaker.make(n.net, file: file, stages: stages, inputShapes: shapes)
        } catch let e as CaffeError {
            if case .diagnostics(let ds, nil) = e, let src = n.source { throw CaffeError.diagnostics(ds, source: src) }
            throw e
        }
        try write(r.text, to: output)
        for s in r.notes { note("  - \(s)") }
    }
}
