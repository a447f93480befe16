import Foundation

/// Writes pictures through the programs that draw them: Graphviz's `dot`
/// for nets, `rsvg-convert` (or `cairosvg`) for charts, which SwiftCaffe
/// writes as SVG. The picture is put in place atomically; a missing program
/// is an error naming the package that has it.
public enum Pictures {
    /// Refuses a chart path that is not .svg, .png or .pdf, so a command can
    /// say so before its work rather than after.
    public static func checkChartPath(_ path: String, option: String = "-o") throws {
        guard ["svg", "png", "pdf"].contains((path as NSString).pathExtension.lowercased()) else {
            throw CaffeError.usage("\(option) must end in .svg, .png or .pdf, found '\(path)'")
        }
    }

    /// A chart (SVG text) as `.svg`, `.png` or `.pdf`, chosen by `path`'s extension.
    public static func writeChart(_ svg: String, to path: String) throws {
        try checkChartPath(path)
        switch (path as NSString).pathExtension.lowercased() {
        case "svg":
            try AtomicFile.write(svg, to: path)
        case let format where format == "png" || format == "pdf":
            let bytes: Data
            if let rsvg = executable("rsvg-convert") {
                bytes = try run(rsvg, ["-f", format], input: Data(svg.utf8), output: path, name: "rsvg-convert")
            } else if let cairo = executable("cairosvg") {
                bytes = try run(cairo, ["-f", format, "-o", "-", "-"], input: Data(svg.utf8), output: path, name: "cairosvg")
            } else {
                throw CaffeError.io(path: path, reason: "writing .\(format) needs rsvg-convert (Debian: apt-get install librsvg2-bin) "
                                    + "or cairosvg (pip install cairosvg), and neither is installed; or write SVG with -o \(svgName(path))")
            }
            try bytes.withUnsafeBytes { try AtomicFile.write($0, to: path) }
        default:
            preconditionFailure("checkChartPath let '\(path)' through")
        }
    }

    /// A Graphviz graph drawn by `dot` as `format` (svg, png, pdf).
    public static func writeGraph(_ dot: String, format: String, to path: String) throws {
        guard let program = executable("dot") else {
            throw CaffeError.io(path: path, reason: "drawing .\(format) needs Graphviz's 'dot', which is not installed "
                                + "(Debian: apt-get install graphviz); or write DOT with -o net.dot")
        }
        let bytes = try run(program, ["-T\(format)"], input: Data(dot.utf8), output: path, name: "Graphviz's dot")
        try bytes.withUnsafeBytes { try AtomicFile.write($0, to: path) }
    }

    private static func svgName(_ path: String) -> String {
        ((path as NSString).deletingPathExtension as NSString).appendingPathExtension("svg") ?? path
    }

    /// The program's path on PATH.
    static func executable(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `program` on `input` and returns what it printed; both pipes are
    /// drained while it runs (a pipe holds 64 KiB).
    private static func run(_ program: String, _ arguments: [String], input: Data, output: String, name: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        (p.standardInput, p.standardOutput, p.standardError) = (stdin, stdout, stderr)
        try p.run()
        let picture = PipeReader(stdout.fileHandleForReading), errors = PipeReader(stderr.fileHandleForReading)
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        p.waitUntilExit()
        let bytes = picture.wait()
        let message = String(decoding: errors.wait(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0, !bytes.isEmpty else {
            throw CaffeError.io(path: output, reason: "\(name) failed (status \(p.terminationStatus))" + (message.isEmpty ? "" : ": \(message)"))
        }
        return bytes
    }
}
