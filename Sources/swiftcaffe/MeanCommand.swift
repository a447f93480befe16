import ArgumentParser
import Foundation
import SwiftCaffe

struct MeanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mean",
        abstract: "Show a mean image (.binaryproto or .npy), convert it to .npy, or print its per-channel means.")

    @Argument(help: "The mean file (.binaryproto or .npy).")
    var file: String

    @Option(help: "Write the mean image as a C×H×W float32 .npy file.")
    var to: String?

    @Flag(help: "Print only the per-channel means, comma-separated (for --mean-value or mean_value).")
    var perChannel = false

    func run() throws {
        if let out = to { try refuseOverwritingInputs(output: out, inputs: [("mean file", file)]) }
        let m = try MeanImage.read(path: file)
        let means = m.perChannel.map { String(format: "%.3f", $0) }
        if perChannel {
            print(means.joined(separator: ","))
        } else {
            print("\(file): mean image \(m.channels)×\(m.height)×\(m.width) (channels in file order; Caffe's ImageNet mean is BGR)")
            print("per-channel means: \(means.joined(separator: ", "))")
            if let lo = m.values.min(), let hi = m.values.max() { print(String(format: "values from %.3f to %.3f", lo, hi)) }
        }
        if let out = to {
            try NPY.write(NPY.Array(shape: [m.channels, m.height, m.width], values: m.values), to: out)
            note("wrote \(out)")
        }
    }
}
