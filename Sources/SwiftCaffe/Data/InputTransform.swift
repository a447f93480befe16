import Foundation

/// The test-time preprocessing of a net's data blob: the `transform_param`
/// of the TEST data layer that fed it in training (scale, mean, crop, grey or
/// colour). A deploy file's Input layer has no place for it, so `deploy`
/// writes it as a comment block, which Caffe's parser skips and `classify`
/// reads back:
///
///     # swiftcaffe transform_param {
///     #   scale: 0.00390625
///     # }
public struct InputTransform: Sendable {
    public var parameters: Caffe.TransformationParameter
    /// Where it was read, for the preprocessing line: "transform_param of the
    /// TEST data layer 'data' in train_val.prototxt".
    public var origin: String

    public init(parameters: Caffe.TransformationParameter, origin: String) {
        self.parameters = parameters
        self.origin = origin
    }

    /// The first line of the comment block.
    static let opening = "# swiftcaffe transform_param {"

    /// The transform_param of the first data layer of `net`'s TEST phase that
    /// has one; nil when none does (then the data was fed as stored).
    public init?(testDataOf net: NetParameter, file: String, stages: [String] = []) {
        var problems: [Diagnostic] = []
        let layers = NetGraph.filter(net.layers, state: NetState(phase: .test, stages: stages), problems: &problems)
        guard let layer = layers.first(where: { DeployMaker.isData($0) && $0.proto.has(.transformParam) }) else { return nil }
        self.init(parameters: layer.proto.transformParam,
                  origin: "transform_param of the TEST data layer '\(layer.name)' in \((file as NSString).lastPathComponent)")
    }

    /// The transform of a train_val net, or of the training net a solver names.
    public static func read(trainNet path: String) throws -> InputTransform? {
        let bytes = try readFile(path)
        let loaded = PrototxtKind.detect(bytes: bytes, file: path) == .solver
            ? try ModelFile.trainNet(of: try ModelFile.loadSolver(path: path))
            : try ModelFile.loadNet(bytes: bytes, file: path)
        return InputTransform(testDataOf: loaded.net, file: loaded.source?.name ?? path)
    }

    /// The comment block of a deploy file, or nil when it has none. Errors in
    /// the block cite the deploy file's own line and column.
    public static func recorded(in source: SourceText) throws -> InputTransform? {
        let lines = textLines(source.bytes)
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == opening }) else { return nil }
        guard let end = lines[(start + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "# }" }) else {
            throw CaffeError.at(SourceLocation(file: source.name, line: start + 1, column: 1),
                                "the swiftcaffe transform_param comment block has no closing '# }' line")
        }
        // Blank every other line and turn the block's '#' into a space, so the
        // parser's lines and columns are the deploy file's.
        var text = [String](repeating: "", count: lines.count)
        for i in (start + 1)..<end {
            let line = lines[i]
            guard let hash = line.firstIndex(of: "#"), line[..<hash].allSatisfy({ $0 == " " }) else {
                throw CaffeError.at(SourceLocation(file: source.name, line: i + 1, column: 1),
                                    "a line of the swiftcaffe transform_param comment block must start with '#'")
            }
            text[i] = line.replacingCharacters(in: hash...hash, with: " ")
        }
        let bytes = Array(text.joined(separator: "\n").utf8)
        guard bytes.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) else { return nil }
        let parsed = try PrototxtParser.parse(bytes: bytes, file: source.name, as: Caffe.TransformationParameter.schema)
        return InputTransform(parameters: Caffe.TransformationParameter(parsed.message),
                              origin: "transform_param recorded in \((source.name as NSString).lastPathComponent)")
    }

    /// The comment block `recorded(in:)` reads, with a line saying where it came from.
    public var commentBlock: String {
        var lines = ["# The preprocessing of this net's input in training: the",
                     "# \(origin).",
                     "# Caffe skips comments; swiftcaffe classify applies it to images.",
                     Self.opening]
        for line in PrototxtPrinter.print(parameters.message).split(separator: "\n") { lines.append("#   " + line) }
        lines.append("# }")
        return lines.joined(separator: "\n") + "\n"
    }
}
