import Foundation

/// max(0, x) + a_c · min(0, x) with a learned slope per channel (or one shared).
struct PReLUPlan: LayerPlan {
    static let type = "PReLU"
    static let bottoms = 1...1
    static let tops = 1...1
    let shared: Bool

    init(_ l: LayerParameter) throws { shared = l.proto.preluParam.channelShared }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let b = bottoms[0]
        guard b.count >= 2 else { throw PlanError("input must have at least 2 axes, found \(describe(b))") }
        // Caffe's shared slope is a blob of 0 axes (one value), not of shape [1].
        return PlannedShapes(tops: [b], params: [shared ? [] : [b[1]]])
    }
}

/// y = max(0, x) + a_c·min(0, x) with a learned slope per channel (one if
/// channel_shared); da_c = Σ dy·x·[x ≤ 0], dx = dy·(x > 0 ? 1 : a_c).
/// Slopes start at 0.25 unless a filler says otherwise.
final class PReLULayer: Layer {
    private var saved = Blob()

    override func fillers() throws -> [Filler] {
        let p = parameter.proto.preluParam
        return [try p.has(.filler) ? Filler(p.filler) : Filler.constant(0.25)]
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = bottoms[0]
        if b === tops[0] {
            try reshape(saved, to: b.shape, what: "its copy of the in-place input")
            saved.data.update(from: b.data, count: b.count)
        }
        let (x, y, a) = (b.data, tops[0].data, params[0].data)
        let channels = b.dim(1), inner = b.count(from: 2), shared = params[0].count == 1
        for i in 0..<b.count {
            let c = shared ? 0 : (i / inner) % channels
            y[i] = x[i] > 0 ? x[i] : a[c] * x[i]
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let b = bottoms[0]
        let x = b === tops[0] ? saved.data : b.data
        let (dy, dx, a, da) = (tops[0].diff, b.diff, params[0].data, params[0].diff)
        let channels = b.dim(1), inner = b.count(from: 2), shared = params[0].count == 1
        for i in 0..<b.count where x[i] <= 0 {
            da[shared ? 0 : (i / inner) % channels] += dy[i] * x[i]
        }
        guard propagateDown[0] else { return }
        for i in 0..<b.count {
            let c = shared ? 0 : (i / inner) % channels
            dx[i] = x[i] > 0 ? dy[i] : a[c] * dy[i]
        }
    }
}
