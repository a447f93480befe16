import ArgumentParser
import Foundation
import SwiftCaffe

struct ExportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-weights",
        abstract: "Write a .caffemodel's blobs to a NumPy .npz archive as layer/index arrays (float32, shapes as stored).")

    @Argument(help: "The weights file (.caffemodel, any format).")
    var file: String

    @Option(name: .shortAndLong, help: "The .npz file to write.")
    var output: String

    func run() throws {
        try refuseOverwritingInputs(output: output, inputs: [("weights file", file)])
        let model = try CaffeModel(path: file)
        var arrays: [(name: String, array: NPY.Array)] = []
        for l in model.layers {
            for (i, b) in l.blobs.enumerated() {
                arrays.append(("\(l.name)/\(i)", NPY.Array(shape: b.legacy ?? b.shape, values: b.values)))
            }
        }
        try NPZ.write(arrays, to: output)
        note("\(file): wrote \(arrays.count) arrays from \(model.layers.filter { !$0.blobs.isEmpty }.count) layers to \(output)"
             + (model.knownModel.map { " (\($0))" } ?? ""))
    }
}
