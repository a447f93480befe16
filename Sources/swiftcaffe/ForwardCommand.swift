import ArgumentParser
import Foundation
import SwiftCaffe

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run a net forward on .npy inputs and write its blobs as .npy files (or compare them with reference files).")

    @Option(name: .customLong("model"), help: "The net prototxt.")
    var model: String

    @Option(help: "Trained weights (.caffemodel).")
    var weights: String?

    @Option(name: .customLong("input"), help: "An input blob from a .npy file: NAME=FILE.npy (repeatable); the net reshapes to it.")
    var inputs: [String] = []

    @Option(help: "Blobs to write, comma-separated (default: the net's outputs).")
    var blobs: String?

    @Flag(help: "Write every blob.")
    var allBlobs = false

    @Option(help: "Folder for DIR/<blob>.npy files ('/' in a blob name becomes '_').")
    var outputDir: String?

    @Option(help: "Compare each blob with DIR/<blob>.npy where one exists and print the errors per layer; exit 3 when one differs.")
    var compare: String?

    @Option(help: "Phase: test (default) or train.")
    var phase: PhaseArgument = .test

    @Option(help: "Seed of the fillers when no weights are given.")
    var seed: UInt64 = 1701

    @Option(help: "Layers to take from their fillers even when the weights file has them, comma-separated.")
    var reinit: String?

    @Flag(help: "Print what the weights file gave each layer.")
    var verbose = false

    @Option(help: "Also save the net's parameters as a current-format (V2) .caffemodel.")
    var saveWeights: String?

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var weightsPrecision: WeightPrecisionOption
    @OptionGroup var parse: ParseOptions

    func validate() throws {
        if blobs != nil, allBlobs { throw ValidationError("give --blobs or --all-blobs, not both") }
        if outputDir == nil, compare == nil, saveWeights == nil {
            throw ValidationError("give --output-dir DIR (and/or --compare DIR, --save-weights FILE)")
        }
    }

    func run() throws {
        try runtime.apply()
        let specs = try inputs.map { spec -> (name: String, path: String) in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw CaffeError.usage("--input must be NAME=FILE.npy, found '\(spec)'") }
            return (parts[0], parts[1])
        }
        let inputFiles = [("net file", model)] + (weights.map { [("weights file", $0)] } ?? []) + specs.map { ("input \($0.name)", $0.path) }
        if let path = saveWeights { try refuseOverwritingInputs(output: path, what: "--save-weights file", inputs: inputFiles) }
        let arrays = try specs.map { ($0.name, try NPY.read(path: $0.path)) }
        let loaded = try ModelFile.loadNet(path: model, options: parse.prototxt)
        printWarnings(loaded.warnings, source: loaded.source)
        let inputs = loaded.inputNames(state: NetState(phase: phase.phase))
        if let unknown = arrays.first(where: { !inputs.contains($0.0) }) {
            throw CaffeError.usage("--input \(unknown.0): the net has no input '\(unknown.0)'; its inputs: "
                                   + (inputs.isEmpty ? "none" : inputs.joined(separator: ", ")))
        }
        let shapes = Dictionary(arrays.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { _, b in b })
        let graph = try buildGraph(loaded, options: .init(state: NetState(phase: phase.phase), inputShapes: shapes))
        // The weights file is read before the net allocates its own parameters:
        // its mapping is gone by then, which keeps peak memory near twice the file.
        let model = try weights.map { try CaffeModel(path: $0) }
        let net = try Net(graph: graph, seed: seed)
        if let model {
            try copy(model, into: net)
        } else if reinit != nil {
            throw CaffeError.usage("--reinit needs --weights")
        }
        if let path = saveWeights {
            try CaffeModelWriter.write(net, to: path)
            note("saved the parameters to \(path)")
        }
        for (name, a) in arrays {
            guard let blob = net.blob(name), blob.count == a.values.count else {
                throw CaffeError.usage("--input \(name): the net has no input blob '\(name)' of shape \(a.shape.map(String.init).joined(separator: "×"))")
            }
            blob.set(a.values)
        }
        // Fusion (InferenceFusion) skips writing a convolution's top that feeds a Concat directly.
        var read = allBlobs ? Set(net.blobNames) : Set((blobs ?? "").split(separator: ",").map(String.init))
        if let dir = compare {
            read.formUnion(net.blobNames.filter { FileManager.default.fileExists(atPath: "\(dir)/\(fileName($0)).npy") })
        }
        if !read.isDisjoint(with: net.blobsLeftUnwrittenByFusion) { net.fusesForInference = false }
        net.storeWeights(as: weightsPrecision.precision)
        try net.forward()

        let wanted = try wantedBlobs(of: net)
        if let dir = outputDir { try write(wanted, of: net, to: dir, inputs: inputFiles) }
        if let dir = compare {
            let comparison = try BlobComparison(net: net, directory: dir)
            print(comparison.table, terminator: "")
            // A differing blob fails the command with its own status, so scripts
            // and CI can tell a disagreement (3) from a bad file (1) or bad usage (2).
            if comparison.firstDivergence != nil { throw ExitCode(Self.disagreementStatus) }
        }
    }

    /// The weights, copied by layer name (--reinit layers keep their fillers), and what was copied when asked or not clean.
    private func copy(_ model: CaffeModel, into net: Net) throws {
        let report = try WeightCopier.copy(model, into: net, reinit: Set((reinit ?? "").split(separator: ",").map(String.init)))
        if verbose || !report.isClean {
            note("\(model.path): \(model.format.rawValue) weights\(model.netName.isEmpty ? "" : " of '\(model.netName)'")"
                 + (model.knownModel.map { ", the published \($0)" } ?? ""))
            note(report.table)
        }
        if verbose { for d in model.undecodedParameters { note("note: \(model.path): \(d)") } }
        if !report.missing.isEmpty {
            note("warning: \(report.missing.joined(separator: ", ")) not in \(model.path); they keep their filler values")
        }
    }

    /// --all-blobs, --blobs, or the net's outputs.
    private func wantedBlobs(of net: Net) throws -> [String] {
        let wanted: [String]
        if allBlobs {
            wanted = net.blobNames
        } else if let list = blobs {
            wanted = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let unknown = wanted.filter { net.blob($0) == nil }
            guard unknown.isEmpty else {
                throw CaffeError.usage("--blobs names \(unknown.joined(separator: ", ")), which the net lacks; its blobs: \(net.blobNames.joined(separator: ", "))")
            }
        } else {
            wanted = net.blobNames.filter { n in net.outputBlobs.contains { $0 === net.blob(n) } }
        }
        return wanted
    }

    /// One .npy file per blob; none replaces an input.
    private func write(_ wanted: [String], of net: Net, to dir: String, inputs: [(String, String)]) throws {
        try createFolder(dir)
        for name in wanted {
            try refuseOverwritingInputs(output: "\(dir)/\(fileName(name)).npy", what: "blob file", inputs: inputs)
        }
        for name in wanted {
            let b = net.blob(name)!
            try NPY.write(NPY.Array(shape: b.shape, values: b.values), to: "\(dir)/\(fileName(name)).npy")
        }
        note("wrote \(wanted.count) blob(s) to \(dir)")
    }

    /// The exit status when --compare finds a blob that differs.
    static let disagreementStatus: Int32 = 3

    private func fileName(_ blob: String) -> String { BlobComparison.fileName(blob) }
}
