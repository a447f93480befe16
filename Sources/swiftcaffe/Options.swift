import ArgumentParser
import Foundation
import SwiftCaffe

/// Options shared by the commands that build a net.
struct NetStateOptions: ParsableArguments {
    @Option(name: [.customLong("phase"), .customLong("phase", withSingleDash: true)], help: "Phase to build: train or test.")
    var phase: PhaseArgument?

    @Option(name: .customLong("stage"), help: "A NetState stage (repeat for several).")
    var stages: [String] = []

    @Option(parsing: .unconditional, help: "NetState level.")
    var level: Int = 0

    @Option(name: .customLong("input-shape"), help: "Shape of an input or data top, e.g. data=10,3,227,227 (repeatable).")
    var inputShapes: [InputShape] = []

    func state(default phase: Phase) -> NetState {
        NetState(phase: self.phase?.phase ?? phase, level: level, stages: stages)
    }

    var shapes: [String: Shape] {
        Dictionary(inputShapes.map { ($0.name, $0.dims) }, uniquingKeysWith: { _, b in b })
    }
}

struct ParseOptions: ParsableArguments {
    @Flag(help: "Warn about fields Caffe's schema lacks (from forks of Caffe) and skip them, instead of failing.")
    var skipUnknownFields = false

    var prototxt: PrototxtOptions { PrototxtOptions(skipUnknownFields: skipUnknownFields) }
}

enum PhaseArgument: String, ExpressibleByArgument {
    case train, test, TRAIN, TEST
    var phase: Phase { rawValue.lowercased() == "train" ? .train : .test }
}

struct InputShape: ExpressibleByArgument {
    var name: String
    var dims: Shape

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        let dims = parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? -1) > 0 }) else { return nil }
        name = String(parts[0])
        self.dims = dims.map { $0! }
    }

    static var defaultValueDescription: String { "NAME=N,C,H,W" }
}

/// The comma-separated numbers of an option's value, e.g. --mean-value 104,117,123.
func numbers(_ text: String, _ option: String) throws -> [Double] {
    let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw CaffeError.usage("\(option) must be numbers, found '\(text)'") }
    return values.map { $0! }
}

func printWarnings(_ ds: [Diagnostic], source: SourceText? = nil) {
    for d in ds { writeStandardError(d.rendered(source: source) + "\n") }
}

func note(_ s: String) {
    writeStandardError(s + "\n")
}

/// "rank N: " in a process that mpirun started with several ranks, so that
/// what one machine reports (its BLAS kernel, say) says where it came from.
let rankPrefix: String = {
    let env = ProcessInfo.processInfo.environment
    guard let rank = env["OMPI_COMM_WORLD_RANK"], Int(env["OMPI_COMM_WORLD_SIZE"] ?? "1") ?? 1 > 1 else { return "" }
    return "rank \(rank): "
}()

/// Builds a net, attaching the file's text to errors so they show the line.
/// Data and ImageData layers are read for their first record, so their
/// shapes are the data's; when the data cannot be read, the graph is
/// planned without them (and says which shapes are unknown).
/// The net's graph for a command; data that cannot be read leaves its shapes
/// unknown, with a note.
func buildGraph(_ loaded: LoadedNet, options: NetGraph.Options) throws -> NetGraph {
    try loaded.graph(options, data: .ifReadable { note("note: the data could not be read, so its shapes are unknown: \($0)") })
}

/// Ends the process at once for a signal (exit 128 + signal): unfinished
/// outputs are removed first, and the message can never block on a reader
/// that stopped reading stderr.
func quitOnSignal(_ sig: Int32, _ message: String) -> Never {
    PartialOutputs.removeAll()
    _ = fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK)
    writeStandardError("\n" + message + "\n")
    _exit(128 + sig)
}
