import ArgumentParser
import Foundation
import SwiftCaffe

struct ExportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-weights",
        abstract: "Write a .caffemodel's blobs to a NumPy .npz archive (float32): layer/index arrays, or PyTorch state_dict names.")

    @Argument(help: "The weights file (.caffemodel, any format).")
    var file: String

    @Option(name: .shortAndLong, help: "The .npz file to write.")
    var output: String

    @Option(help: "A net (deploy or train_val) whose parameter shapes the blobs take, e.g. N×K for legacy 1×1×N×K weights.")
    var net: String?

    @Option(help: "Array names: caffe (conv1/0, conv1/1) or pytorch (conv1.weight, conv1.bias; BatchNorm as running_mean/running_var).")
    var names: WeightExport.Names = .caffe

    @OptionGroup var state: NetStateOptions

    func run() throws {
        try refuseOverwritingInputs(output: output, inputs: [("weights file", file)] + (net.map { [("net file", $0)] } ?? []))
        let model = try CaffeModel(path: file)
        let graph = try net.map { path in
            try ModelFile.loadNet(path: path).graph(.init(state: state.state(default: .test), inputShapes: state.shapes), data: .ifReadable { _ in })
        }
        let arrays = try WeightExport.arrays(model, net: graph, names: names)
        try NPZ.write(arrays, to: output)
        note("\(file): wrote \(arrays.count) arrays from \(model.layers.filter { !$0.blobs.isEmpty }.count) layers to \(output)"
             + (model.knownModel.map { " (\($0))" } ?? ""))
    }
}

extension WeightExport.Names: ExpressibleByArgument {}
