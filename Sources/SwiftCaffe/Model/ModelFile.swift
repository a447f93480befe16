import Foundation

/// What a prototxt file holds.
public enum PrototxtKind: String, Sendable {
    case net, solver

    /// Decides from the top-level field names: a file is a solver when it sets
    /// a field only SolverParameter has (base_lr, net, train_net, max_iter, ...).
    public static func detect(bytes: [UInt8], file: String) -> PrototxtKind {
        var scanner = Scanner(bytes: bytes, file: file)
        var depth = 0
        var expectName = true
        let net = CaffeSchema.netParameter, solver = CaffeSchema.solverParameter
        while let t = try? scanner.next() {
            switch t.kind {
            case .eof: return .net
            case .symbol(let b) where b == UInt8(ascii: "{") || b == UInt8(ascii: "<"): depth += 1; expectName = true
            case .symbol(let b) where b == UInt8(ascii: "}") || b == UInt8(ascii: ">"): depth -= 1; expectName = true
            case .identifier(let s) where depth == 0 && expectName:
                if solver.field(named: s) != nil, net.field(named: s) == nil { return .solver }
                if net.field(named: s) != nil, solver.field(named: s) == nil { return .net }
                expectName = false
            case .symbol(let b) where b == UInt8(ascii: ":"): expectName = false
            default: expectName = true
            }
        }
        return .net
    }
}

/// A net read from a file: upgraded to current syntax and typed.
public struct LoadedNet: Sendable {
    public var net: NetParameter
    /// The upgraded message, for printing.
    public var message: ProtoMessage
    public var upgrades: [UpgradeNote]
    public var warnings: [Diagnostic]
    public var source: SourceText?
}

/// A solver read from a file, upgraded and typed.
public struct LoadedSolver: Sendable {
    public var solver: SolverParameter
    public var message: ProtoMessage
    public var upgrades: [UpgradeNote]
    public var warnings: [Diagnostic]
    public var path: String

    /// The training net's file when the solver names one (net / train_net), as written.
    public var netPath: String? {
        guard let name = solver.trainNet ?? solver.net else { return nil }
        return ModelFile.candidatePaths(name, near: path).first { FileManager.default.fileExists(atPath: $0) }
    }
}

public enum ModelFile {
    /// Reads, upgrades and types a net prototxt. Errors carry the file's text
    /// so they print with the offending line.
    public static func loadNet(path: String, options: PrototxtOptions = .init()) throws -> LoadedNet {
        try loadNet(bytes: try readFile(path), file: path, options: options)
    }

    public static func loadNet(bytes: [UInt8], file: String, options: PrototxtOptions = .init()) throws -> LoadedNet {
        let parsed = try PrototxtParser.parse(bytes: bytes, file: file, as: CaffeSchema.netParameter, options: options)
        do {
            return try loadNet(message: parsed.message, warnings: parsed.warnings, source: parsed.source)
        } catch let e as CaffeError {
            throw e.with(source: parsed.source)
        }
    }

    public static func loadNet(message: ProtoMessage, warnings: [Diagnostic] = [], source: SourceText? = nil) throws -> LoadedNet {
        let (m, notes) = try Upgrader.upgradeNet(message)
        return LoadedNet(net: NetParameter(m), message: m, upgrades: notes, warnings: warnings, source: source)
    }

    public static func loadSolver(path: String, options: PrototxtOptions = .init()) throws -> LoadedSolver {
        let parsed = try PrototxtParser.parse(file: path, as: CaffeSchema.solverParameter, options: options)
        do {
            let (m, notes) = try Upgrader.upgradeSolver(parsed.message)
            return LoadedSolver(solver: try SolverParameter(m), message: m, upgrades: notes, warnings: parsed.warnings, path: path)
        } catch let e as CaffeError {
            throw e.with(source: parsed.source)
        }
    }

    /// The solver's training net: inline (net_param / train_net_param) or a
    /// file (net / train_net). Caffe resolves file names against the working
    /// directory; files from a Caffe checkout name paths from its root, so the
    /// solver's own folder and its parents are tried too.
    public static func trainNet(of s: LoadedSolver, options: PrototxtOptions = .init()) throws -> LoadedNet {
        if let m = s.solver.trainNetParam ?? s.solver.netParam {
            return try loadNet(message: m)
        }
        guard let name = s.solver.trainNet ?? s.solver.net else {
            throw CaffeError.at(s.message.location, "the solver names no net: set 'net' (or 'train_net', 'net_param')")
        }
        let field: Caffe.SolverParameter.Field = s.solver.trainNet != nil ? .trainNet : .net
        var tried: [String] = []
        for candidate in candidatePaths(name, near: s.path) {
            tried.append(candidate)
            if FileManager.default.fileExists(atPath: candidate) { return try loadNet(path: candidate, options: options) }
        }
        throw CaffeError.at(s.solver.proto.location(of: field),
                            "the solver's \(field.name) file \"\(name)\" was not found; looked at: \(tried.joined(separator: ", "))")
    }

    static func candidatePaths(_ name: String, near solverPath: String) -> [String] {
        if name.hasPrefix("/") { return [name] }
        var out = [name]
        var dir = URL(fileURLWithPath: solverPath).deletingLastPathComponent()
        for _ in 0..<4 {
            let p = dir.appendingPathComponent(name).path
            if !out.contains(p) { out.append(p) }
            let b = dir.appendingPathComponent((name as NSString).lastPathComponent).path
            if !out.contains(b) { out.append(b) }
            dir = dir.deletingLastPathComponent()
        }
        return out
    }
}
