/// Caffe's InsertSplits: a top blob read by several bottoms (or read and also
/// used as a weighted loss) is copied by a Split layer inserted after its
/// producer, named `{blob}_{layer}_{top index}_split`, with tops
/// `{blob}_{layer}_{top index}_split_{k}`, so that each consumer gets its own
/// gradient. Names match Caffe's, so saved weights and logs line up.
enum SplitInsertion {
    struct TopRef: Hashable {
        var layer: Int
        var top: Int
    }

    static func layerName(_ layer: String, _ blob: String, _ top: Int) -> String { "\(blob)_\(layer)_\(top)_split" }
    static func blobName(_ layer: String, _ blob: String, _ top: Int, _ k: Int) -> String { "\(blob)_\(layer)_\(top)_split_\(k)" }

    /// Which top each bottom reads ((layer, bottom) → producing top), how
    /// often each top is used (a non-zero loss weight counts as a use), the
    /// names of its readers, and its loss weight.
    private static func countUses(_ layers: [LayerParameter])
        -> (source: [TopRef: TopRef], uses: [TopRef: Int], readers: [TopRef: [String]], lossWeight: [TopRef: Double])
    {
        var lastTop: [String: TopRef] = [:]
        var source: [TopRef: TopRef] = [:]
        var uses: [TopRef: Int] = [:]
        var readers: [TopRef: [String]] = [:]
        var lossWeight: [TopRef: Double] = [:]
        for (i, l) in layers.enumerated() {
            for (j, b) in l.bottoms.enumerated() {
                guard let src = lastTop[b] else { continue }
                source[TopRef(layer: i, top: j)] = src
                uses[src, default: 0] += 1
                readers[src, default: []].append(l.name)
            }
            for (j, t) in l.tops.enumerated() { lastTop[t] = TopRef(layer: i, top: j) }
            for j in 0..<min(l.lossWeights.count, l.tops.count) {
                guard let ref = lastTop[l.tops[j]] else { continue }
                lossWeight[ref] = l.lossWeights[j]
                if l.lossWeights[j] != 0 { uses[ref, default: 0] += 1 }
            }
        }
        return (source, uses, readers, lossWeight)
    }

    /// The layers with Splits inserted, and the indices of the inserted ones.
    /// A layer writing in place a value another layer also reads is an error,
    /// as in Caffe, where its bottom becomes a split top and its top a second
    /// blob of the same name ("produced by multiple sources"): the other
    /// reader would otherwise see the value overwritten.
    static func apply(_ layers: [LayerParameter], problems: inout [Diagnostic]) -> ([LayerParameter], Set<Int>) {
        let (source, uses, readers, lossWeight) = countUses(layers)
        var nextSplit: [TopRef: Int] = [:]
        var out: [LayerParameter] = []
        var inserted: Set<Int> = []
        for (i, var l) in layers.enumerated() {
            for (j, b) in l.bottoms.enumerated() {
                guard let src = source[TopRef(layer: i, top: j)], uses[src, default: 0] > 1 else { continue }
                if j < l.tops.count, l.tops[j] == b {
                    let others = readers[src, default: []].filter { $0 != l.name }
                    let what = others.isEmpty ? "is also a weighted loss" : "is also read by "
                        + others.map { "layer '\($0)'" }.joined(separator: ", ")
                    problems.append(Diagnostic(.error, "\(l.label): writes blob '\(b)' in place, but the value it overwrites \(what); "
                                               + "Caffe rejects this (top blob '\(b)' produced by multiple sources); give this layer's top its own name",
                                               at: l.proto.location(of: .top, at: j)))
                }
                let k = nextSplit[src, default: 0]
                nextSplit[src] = k + 1
                l.bottoms[j] = blobName(layers[src.layer].name, b, src.top, k)
            }
            if l.bottoms != layers[i].bottoms {
                l.message.set(Caffe.LayerParameter.Field.bottom, values: l.bottoms.map { .string($0) })
            }
            var splits: [LayerParameter] = []
            for (j, t) in l.tops.enumerated() {
                let ref = TopRef(layer: i, top: j)
                let n = uses[ref, default: 0]
                guard n > 1 else { continue }
                let w = lossWeight[ref] ?? 0
                var m = Caffe.LayerParameter(at: l.location)
                m.append(.name, .string(layerName(l.name, t, j)))
                m.append(.type, .string(SplitPlan.type))
                m.append(.bottom, .string(t))
                for k in 0..<n {
                    m.append(.top, .string(blobName(l.name, t, j, k)))
                    if w != 0 { m.append(.lossWeight, .float(k == 0 ? w : 0)) }
                }
                if w != 0 {
                    // The loss now comes through the split's first top.
                    l.lossWeights = []
                    l.message.clear(Caffe.LayerParameter.Field.lossWeight)
                    nextSplit[ref, default: 0] += 1
                }
                splits.append(LayerParameter(m.message))
            }
            out.append(l)
            for s in splits {
                inserted.insert(out.count)
                out.append(s)
            }
        }
        return (out, inserted)
    }
}
