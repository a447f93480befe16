/// ShuffleNet's channel shuffle (farmingyard/ShuffleNet, shuffle_channel_param
/// group): the channels of each item, seen as a group × C/group matrix, are
/// transposed, so output channel i·group + g is input channel g·(C/group) + i.
struct ShuffleChannelPlan: LayerPlan {
    static let type = "ShuffleChannel"
    static let bottoms = 1...1
    static let tops = 1...1
    let group: Int
    let param: Caffe.ShuffleChannelParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.shuffleChannelParam
        group = param.group
        guard group >= 1 else { throw PlanError("shuffle_channel_param group must be at least 1, found \(group)", at: param.location(of: .group)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].count >= 2 else { throw PlanError("ShuffleChannel needs an N×C×... input, found \(describe(b[0]))") }
        guard b[0][1] % group == 0 else {
            throw PlanError("\(b[0][1]) channels do not split into \(group) groups (shuffle_channel_param group)", at: param.location(of: .group))
        }
        return PlannedShapes(tops: [b[0]])
    }
}

/// A permutation of whole channel planes; backward applies the inverse.
final class ShuffleChannelLayer: Layer {
    private let group: Int

    required init(_ ctx: LayerContext) throws {
        group = ctx.plan(ShuffleChannelPlan.self).group
        try super.init(ctx)
    }

    /// Copies plane g·(C/group) + i of `from` to plane i·group + g of `to`
    /// (or back, `inverse`), for every item. In place (top = bottom, as some
    /// prototxts write it), `from` is copied first.
    private func permute(_ from: UnsafeMutablePointer<Float>, _ to: UnsafeMutablePointer<Float>, shape: Shape, inverse: Bool) {
        let n = shape[0], c = shape[1], plane = shape.dropFirst(2).reduce(1, *), perGroup = c / group
        let copy = from == to ? Array(UnsafeBufferPointer(start: from, count: n * c * plane)) : []
        copy.withUnsafeBufferPointer { saved in
            let source = saved.isEmpty ? UnsafePointer(from) : saved.baseAddress!
            for item in 0..<n {
                let base = item * c * plane
                for g in 0..<group {
                    for i in 0..<perGroup {
                        let grouped = base + (g * perGroup + i) * plane, shuffled = base + (i * group + g) * plane
                        if inverse { to.advanced(by: grouped).update(from: source.advanced(by: shuffled), count: plane) }
                        else { to.advanced(by: shuffled).update(from: source.advanced(by: grouped), count: plane) }
                    }
                }
            }
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        permute(bottoms[0].data, tops[0].data, shape: bottoms[0].shape, inverse: false)
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        permute(tops[0].diff, bottoms[0].diff, shape: bottoms[0].shape, inverse: true)
    }
}
