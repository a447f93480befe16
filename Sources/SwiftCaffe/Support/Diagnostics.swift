/// One problem found in a user's file, printed like a compiler's message:
/// `net.prototxt:12:5: error: unknown field ...`, then the source line and a caret.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }

    public var severity: Severity
    public var location: SourceLocation?
    public var message: String
    /// Further lines (a note pointing at an opening brace, a list of valid names).
    public var notes: [Diagnostic] = []

    public init(_ severity: Severity, _ message: String, at location: SourceLocation?, notes: [Diagnostic] = []) {
        self.severity = severity
        self.message = message
        self.location = location
        self.notes = notes
    }

    public var description: String {
        var s = location.map { "\($0): " } ?? ""
        s += "\(severity.rawValue): \(message)"
        for n in notes { s += "\n" + n.description }
        return s
    }

    /// The message with the offending source line and a caret under the column.
    public func rendered(source: SourceText?) -> String {
        var s = location.map { "\($0): " } ?? ""
        s += "\(severity.rawValue): \(message)"
        if let loc = location, let src = source, src.name == loc.file, let line = src.line(loc.line),
           line.contains(where: { !$0.isWhitespace }),
           !line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" })
        {
            let shown = line.replacingTabs()
            s += "\n" + shown
            s += "\n" + String(repeating: " ", count: max(0, loc.column - 1)) + "^"
        }
        for n in notes { s += "\n" + n.rendered(source: source) }
        return s
    }
}

/// The text of a source file, kept for rendering diagnostics.
public struct SourceText: Sendable {
    public let name: String
    public let bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    public func line(_ n: Int) -> String? {
        var current = 1
        var start = 0
        var i = 0
        while i < bytes.count {
            if current == n { break }
            if bytes[i] == UInt8(ascii: "\n") {
                current += 1
                start = i + 1
            }
            i += 1
        }
        guard current == n else { return nil }
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\n"), bytes[end] != UInt8(ascii: "\r") { end += 1 }
        if start == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        return String(decoding: bytes[min(start, end)..<end], as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}

/// Every error SwiftCaffe reports about a user's file or command line.
public enum CaffeError: Error, Sendable, CustomStringConvertible {
    /// Problems found in a file; all of them, where more than one was found in one pass.
    case diagnostics([Diagnostic], source: SourceText?)
    /// A file that could not be read at all.
    case io(path: String, reason: String)
    /// A bad command-line value.
    case usage(String)
    /// Training produced NaN or Inf (the message names where and why).
    case diverged(String)

    public var description: String {
        switch self {
        case .diagnostics(let ds, let src):
            return ds.map { $0.rendered(source: src) }.joined(separator: "\n")
        case .io(let path, let reason):
            return "\(path): error: \(reason)"
        case .usage(let m):
            return "error: \(m)"
        case .diverged(let m):
            return "error: \(m)"
        }
    }

    /// The diagnostics carried, for tests and tools.
    public var diagnostics: [Diagnostic] {
        if case .diagnostics(let ds, _) = self { return ds }
        return []
    }

    /// One error at a place in a file (or nowhere, when loc is nil).
    public static func at(_ loc: SourceLocation?, _ message: String, notes: [Diagnostic] = []) -> CaffeError {
        .diagnostics([Diagnostic(.error, message, at: loc, notes: notes)], source: nil)
    }

    /// The same error with the source text attached for rendering.
    public func with(source: SourceText) -> CaffeError {
        if case .diagnostics(let ds, nil) = self { return .diagnostics(ds, source: source) }
        return self
    }
}
