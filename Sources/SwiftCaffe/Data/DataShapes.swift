import Foundation

/// The shapes a net's Data and ImageData layers will deliver, found by
/// reading their first record (HDF5Data: its files' dataset shapes), so the graph (and every parameter shape after
/// it) is planned from the real data, as Caffe's DataLayerSetUp does.
public enum DataShapes {
    /// Top name → shape for the data layers `state` keeps.
    public static func probe(_ net: NetParameter, state: NetState) throws -> [String: Shape] {
        var problems: [Diagnostic] = []
        let kept = NetGraph.filter(net.layers, state: state, problems: &problems)
        var out: [String: Shape] = [:]
        for l in kept where isProbed(l) {
            do {
                if l.type == HDF5DataPlan.type {
                    let list = try HDF5FileList(source: l.proto.hdf5DataParam.source, datasets: l.tops)
                    for (top, row) in zip(l.tops, list.rowShapes) { out[top] = [l.proto.hdf5DataParam.batchSize] + row }
                    continue
                }
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

    /// A layer whose top shapes only its data tells: Data, ImageData, HDF5Data.
    static func isProbed(_ l: LayerParameter) -> Bool {
        [DataPlan.type, ImageDataPlan.type, HDF5DataPlan.type].contains(l.type) && !l.tops.isEmpty
    }
}

/// Whether a graph must know the shapes its Data and ImageData layers deliver.
public enum DataShapeProbe: Sendable {
    /// An unreadable data source is an error (training, testing, running).
    case required
    /// An unreadable data source leaves those shapes unknown (summary, draw),
    /// and the caller hears why.
    case ifReadable(unreadable: @Sendable (any Error) -> Void)
}

extension LoadedNet {
    /// The tops of the net's input and data layers in `state`: the blobs an
    /// input shape or an input array may name.
    public func inputNames(state: NetState) -> [String] {
        var problems: [Diagnostic] = []
        return NetGraph.filter(net.layers, state: state, problems: &problems)
            .filter { LayerCatalog.plan($0.type) is any SourcePlan.Type }.flatMap(\.tops)
    }

    /// The net's graph, its data layers' top shapes read from the first record
    /// of their sources where `options.inputShapes` does not give them, and
    /// its errors shown against the net's own text.
    public func graph(_ options: NetGraph.Options = .init(), data: DataShapeProbe = .required) throws -> NetGraph {
        var options = options
        if net.layers.contains(where: { DataShapes.isProbed($0) && options.inputShapes[$0.tops[0]] == nil }) {
            do {
                options.inputShapes.merge(try DataShapes.probe(net, state: options.state)) { given, _ in given }
            } catch {
                guard case .ifReadable(let unreadable) = data else { throw withSource(error) }
                unreadable(error)
            }
        }
        do {
            return try NetGraph.build(net, options: options)
        } catch {
            throw withSource(error)
        }
    }

    private func withSource(_ error: any Error) -> any Error {
        if let e = error as? CaffeError, let source { return e.with(source: source) }
        return error
    }
}
