import Foundation

/// The shapes a net's Data and ImageData layers will deliver, found by
/// reading their first record, so the graph (and every parameter shape after
/// it) is planned from the real data, as Caffe's DataLayerSetUp does.
public enum DataShapes {
    /// Top name → shape for the data layers `state` keeps.
    public static func probe(_ net: NetParameter, state: NetState) throws -> [String: Shape] {
        var problems: [Diagnostic] = []
        let kept = NetGraph.filter(net.layers, state: state, problems: &problems)
        var out: [String: Shape] = [:]
        for l in kept where (l.type == DataPlan.type || l.type == ImageDataPlan.type) && !l.tops.isEmpty {
            do {
                let transformer = try DataTransformer(l, phase: state.phase)
                let batch = RecordSources.batching(of: l).batchSize
                let first = try RecordSources.open(for: l, shuffleSeed: nil).record(0)
                try transformer.validate(first, name: "\(l.label)'s first record")
                out[l.tops[0]] = [batch] + transformer.outputShape(first.shape)
            } catch let e as CaffeError {
                if case .diagnostics = e { throw e }
                throw CaffeError.at(l.location, "\(l.label): cannot read its data: \(e)")
            }
        }
        return out
    }
}
