import ArgumentParser
import Foundation
import SwiftCaffe

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Show a net's layers with shapes, parameter counts and MACs (a solver file: its settings and train net).")

    @Argument(help: "A net or solver prototxt, in any Caffe syntax.")
    var file: String

    @Argument(help: "A second net, shown side by side with the first.")
    var other: String?

    @OptionGroup var state: NetStateOptions
    @OptionGroup var parse: ParseOptions

    @Flag(help: "Print JSON instead of a table (with two nets: an array of both).")
    var json = false

    func run() throws {
        if let other {
            let graphs = try [file, other].map { path in
                let n = try ModelFile.loadNet(path: path, options: parse.prototxt)
                printWarnings(n.warnings, source: n.source)
                return try buildGraph(n, options: .init(state: state.state(default: .test), inputShapes: state.shapes))
            }
            if json { return print("[" + graphs.map(NetSummary.json).joined(separator: ",") + "]") }
            print("Shapes per item; * marks rows that differ")
            print(NetSummary.sideBySide(graphs[0], graphs[1]), terminator: "")
            return
        }
        let bytes = try readFile(file)
        if PrototxtKind.detect(bytes: bytes, file: file) == .solver {
            let solver = try ModelFile.loadSolver(path: file, options: parse.prototxt)
            printWarnings(solver.warnings)
            let net = try ModelFile.trainNet(of: solver, options: parse.prototxt)
            try show(net, default: .train, header: json ? nil : solverHeader(solver.solver))
        } else {
            let net = try ModelFile.loadNet(bytes: bytes, file: file, options: parse.prototxt)
            try show(net, default: .test, header: nil)
        }
    }

    private func show(_ net: LoadedNet, default phase: Phase, header: String?) throws {
        printWarnings(net.warnings, source: net.source)
        if !net.upgrades.isEmpty {
            note("note: legacy syntax upgraded in memory (`swiftcaffe upgrade` writes it out): "
                 + net.upgrades.map(\.message).joined(separator: "; "))
        }
        let g = try buildGraph(net, options: .init(state: state.state(default: phase), inputShapes: state.shapes))
        printWarnings(g.warnings)
        if json {
            print(NetSummary.json(g))
            return
        }
        if let h = header { print(h) }
        let title = "\(g.name.isEmpty ? "(unnamed net)" : g.name) — phase \(g.state.phase.name)"
            + (g.state.stages.isEmpty ? "" : ", stages \(g.state.stages.joined(separator: ","))")
            + ", batch \(g.batchSize); shapes and MACs per item"
        let table = NetSummary.table(g, title: title)
        print(table, terminator: table.hasSuffix("\n") ? "" : "\n")
    }

    private func solverHeader(_ s: SolverParameter) -> String {
        // Caffe keeps these as float: print them as the float the file meant.
        func f(_ x: Double) -> String { PrototxtPrinter.number(x) }
        var policy = s.lrPolicy?.rawValue ?? "(none)"
        switch s.lrPolicy {
        case .step: policy += " (gamma \(f(s.gamma)), stepsize \(s.stepsize))"
        case .multistep: policy += " (gamma \(f(s.gamma)), stepvalues \(s.stepvalues.map(String.init).joined(separator: ",")))"
        case .exp: policy += " (gamma \(f(s.gamma)))"
        case .inv, .sigmoid: policy += " (gamma \(f(s.gamma)), power \(f(s.power)))"
        case .poly: policy += " (power \(f(s.power)))"
        default: break
        }
        var lines = ["Solver \(file)"]
        lines.append("  type \(s.type.rawValue), base_lr \(f(s.baseLR)), lr_policy \(policy)")
        lines.append("  momentum \(f(s.momentum)), weight_decay \(f(s.weightDecay)) (\(s.regularization.rawValue)), max_iter \(s.maxIter), iter_size \(s.iterSize)")
        lines.append("  test_iter \(s.testIter.map(String.init).joined(separator: ",")), test_interval \(s.testInterval), snapshot \(s.snapshot) → \(s.snapshotPrefix ?? "(no prefix)")")
        return lines.joined(separator: "\n") + "\n"
    }
}
