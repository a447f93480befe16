import ArgumentParser
import Foundation
import SwiftCaffe

struct ExportOnnxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Write a deploy net (and its weights) as an ONNX model; --check runs it with onnxruntime against SwiftCaffe.")

    @Argument(help: "The deploy net prototxt (Input layers, no losses).")
    var net: String

    @Option(help: "Trained weights (.caffemodel); without them the fillers' seeded values are exported.")
    var weights: String?

    @Option(name: .shortAndLong, help: "The ONNX file to write.")
    var output: String

    @Option(name: .customLong("input-shape"), help: "An input's shape, NAME=N,C,H,W (repeatable).")
    var inputShapes: [InputShape] = []

    @Option(help: "ONNX operator set, 13 to 21.")
    var opset = 13

    @Flag(help: "Leave the batch dimension free (N) on inputs and outputs.")
    var dynamicBatch = false

    @Flag(help: "Fold BatchNorm and Scale (and Bias) into the weights of the convolution before them.")
    var foldBatchnorm = false

    @Flag(help: "Export layers whose ONNX form differs from Caffe's in stated ways (DetectionOutput); the changes are printed.")
    var allowApproximate = false

    @Flag(help: "Run the model with onnxruntime (Python's; SWIFTCAFFE_PYTHON picks the Python) on seeded inputs and print each output's error; exit 1 beyond 1e-4 relative.")
    var check = false

    @OptionGroup var parse: ParseOptions

    func run() throws {
        let shapes = Dictionary(inputShapes.map { ($0.name, $0.dims) }, uniquingKeysWith: { _, b in b })
        let net = try OnnxExport.export(netFile: self.net, weights: weights, inputShapes: shapes, prototxt: parse.prototxt,
                                        options: .init(opset: opset, dynamicBatch: dynamicBatch, foldBatchNorm: foldBatchnorm,
                                                      allowApproximate: allowApproximate), to: output)
        print("wrote \(output): opset \(opset), \(net.layers.count) layers")
        for type in OnnxExport.approximatedTypes(in: net) { print("approximated: \(OnnxExport.approximations[type]!)") }
        guard check else { return }
        let agreements = try OnnxExport.check(net, model: output)
        var worst: Float = 0
        for a in agreements {
            if let shapes = a.shapes {
                print("\(a.output): shapes differ, SwiftCaffe \(shapes.swiftCaffe), onnxruntime \(shapes.onnxruntime)")
            } else {
                print("\(a.output): max |SwiftCaffe − onnxruntime| = \(a.maxAbsolute) (\(a.relative) of the output's largest value)")
            }
            worst = a.relative.isNaN || worst.isNaN ? .nan : max(worst, a.relative)
        }
        if worst.isNaN {
            writeStandardError("error: an output is not a number (NaN) in SwiftCaffe or onnxruntime: with seeded fillers the activations "
                               + "may overflow; give trained --weights\n")
            throw ExitCode(1)
        }
        if agreements.contains(where: { $0.shapes != nil }) {
            writeStandardError("error: an onnxruntime output has another shape than SwiftCaffe's\n")
            throw ExitCode(1)
        }
        if worst > 1e-4 {
            writeStandardError("error: onnxruntime's outputs differ from SwiftCaffe's by \(worst) relative, more than 1e-4\n")
            throw ExitCode(1)
        }
        print("check passed: every output within 1e-4 relative")
    }
}
