/// What copying a weights file into a net did, per layer.
public struct WeightReport: Sendable {
    public var copied: [String] = []
    /// In the file, not in the net (a fine-tuned net drops layers).
    public var skipped: [String] = []
    /// In the net with parameters, not in the file: they keep their fillers.
    public var missing: [String] = []
    /// In both, but --reinit asked for their fillers.
    public var reinitialised: [String] = []

    public var isClean: Bool { missing.isEmpty && skipped.isEmpty }

    public var table: String {
        var rows = [["layer", "weights"]]
        rows += copied.map { [$0, "copied"] }
        rows += reinitialised.map { [$0, "from fillers (--reinit)"] }
        rows += missing.map { [$0, "from fillers (not in the file)"] }
        rows += skipped.map { [$0, "skipped (not in the net)"] }
        return NetSummary.render(rows, rightAligned: [])
    }
}

/// Copies a weights file into a net by layer name, as Caffe's
/// CopyTrainedLayersFrom does: file layers the net lacks are skipped, net
/// layers the file lacks keep their filler values, and a different number of
/// blobs or a different shape is an error naming the layer, the blob, and
/// both shapes. A legacy 4-D blob matches when its num/channels/height/width
/// equal the net blob's shape padded to 4 axes with leading 1s
/// (InnerProduct weights stored as 1×1×4096×9216).
public enum WeightCopier {
    public static func copy(_ model: CaffeModel, into net: Net, reinit: Set<String> = []) throws -> WeightReport {
        var report = WeightReport()
        var problems: [Diagnostic] = []
        var stored: [String: CaffeModel.StoredLayer] = [:]
        for l in model.layers where stored[l.name] == nil { stored[l.name] = l }
        let netNames = Set(net.layers.map(\.name))
        for unknown in reinit where !netNames.contains(unknown) {
            problems.append(Diagnostic(.error, "--reinit names layer '\(unknown)', which the net does not have", at: nil))
        }
        for layer in net.layers where !layer.params.isEmpty {
            if reinit.contains(layer.name) {
                report.reinitialised.append(layer.name)
                continue
            }
            guard let s = stored[layer.name] else {
                report.missing.append(layer.name)
                continue
            }
            guard s.blobs.count == layer.params.count else {
                problems.append(Diagnostic(.error, "\(layer.parameter.label): the net has \(layer.params.count) parameter blob(s), "
                                           + "\(model.path) has \(s.blobs.count) for it", at: layer.parameter.location))
                continue
            }
            var ok = true
            for (i, (p, b)) in zip(layer.params, s.blobs).enumerated() {
                guard matches(p.shape, b) else {
                    problems.append(Diagnostic(.error, "\(layer.parameter.label): blob \(i) has shape \(describe(p.shape)) in the net, "
                                               + "\(describe(b.legacy ?? b.shape)) in \(model.path)", at: layer.parameter.location))
                    ok = false
                    continue
                }
                guard b.count == p.count else {
                    problems.append(Diagnostic(.error, "\(layer.parameter.label): blob \(i) in \(model.path) holds \(b.count) values "
                                               + "but its shape \(describe(b.legacy ?? b.shape)) needs \(p.count)", at: layer.parameter.location))
                    ok = false
                    continue
                }
            }
            guard ok else { continue }
            for (p, b) in zip(layer.params, s.blobs) { b.copy(into: p.data) }
            report.copied.append(layer.name)
        }
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
        report.skipped = model.layers.map(\.name).filter { !netNames.contains($0) }
        // Nothing in common: the weights of another net, not a partial fine-tune.
        let withWeights = model.layers.filter { !$0.blobs.isEmpty }
        if report.copied.isEmpty, report.reinitialised.isEmpty, !report.missing.isEmpty, !withWeights.isEmpty {
            throw CaffeError.io(path: model.path, reason: "none of its \(withWeights.count) layers with weights (\(withWeights.prefix(4).map(\.name).joined(separator: ", "))"
                                + "\(withWeights.count > 4 ? ", ..." : "")) is a layer of the net (\(report.missing.prefix(4).joined(separator: ", "))"
                                + "\(report.missing.count > 4 ? ", ..." : "")): the weights of another net?")
        }
        return report
    }

    static func matches(_ shape: Shape, _ b: CaffeModel.StoredBlob) -> Bool {
        // SwiftCaffe before 2026-12 wrote PReLU's shared slope as shape [1].
        if shape.isEmpty, b.legacy == nil, b.shape == [1] { return true }
        if let legacy = b.legacy {
            guard shape.count <= 4 else { return false }
            return Array(repeating: 1, count: 4 - shape.count) + shape == legacy
        }
        return shape == b.shape
    }
}
