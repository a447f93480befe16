import Foundation

/// Caffe's six update rules (sgd_solver.cpp and its subclasses). Each turns a
/// parameter's gradient, already normalised, clipped and regularised, into
/// the value the net subtracts from the weights (stored back into the
/// gradient), keeping its history between iterations. SGD, Nesterov,
/// AdaGrad and RMSProp keep one history blob per parameter; AdaDelta and Adam
/// keep two, stored as Caffe stores them: all first halves, then all second
/// halves, so solver states move between Caffe and SwiftCaffe.
public struct UpdateRule: Sendable {
    public let type: SolverType
    let momentum: Float, momentum2: Float, delta: Float, rmsDecay: Float

    public init(_ p: SolverParameter) {
        type = p.type
        momentum = Float(p.momentum)
        momentum2 = Float(p.momentum2)
        delta = Float(p.delta)
        rmsDecay = Float(p.rmsDecay)
    }

    /// History blobs per parameter.
    public var historyPerParameter: Int { type == .adaDelta || type == .adam ? 2 : 1 }

    /// Computes the update of one parameter in place of its gradient.
    /// `first`/`second` are its history blobs (second only for AdaDelta and
    /// Adam); `iteration` is the solver's (Adam's bias correction uses it + 1).
    /// Long: one case per update rule, side by side as Caffe's solvers/*.cpp
    /// define them, so each formula can be read against the others.
    func apply(diff g: UnsafeMutablePointer<Float>, count n: Int, rate: Float,
               first h: UnsafeMutablePointer<Float>, second h2: UnsafeMutablePointer<Float>?, iteration: Int) {
        let (gs, hs) = (SharedPointer(g), SharedPointer(h))
        let h2s = h2.map { SharedPointer($0) }
        let (mom, mom2, delta, decay) = (momentum, momentum2, delta, rmsDecay)
        switch type {
        case .sgd:
            // V = momentum·V + rate·g; the update is V.
            Self.chunked(n) { r in for i in r { hs[i] = rate * gs[i] + mom * hs[i]; gs[i] = hs[i] } }
        case .nesterov:
            // V' = momentum·V + rate·g; update = (1 + momentum)·V' − momentum·V.
            Self.chunked(n) { r in
                for i in r {
                    let old = hs[i]
                    hs[i] = rate * gs[i] + mom * old
                    gs[i] = (1 + mom) * hs[i] - mom * old
                }
            }
        case .adaGrad:
            // H += g²; update = rate·g / (√H + δ).
            Self.chunked(n) { r in
                for i in r {
                    hs[i] += gs[i] * gs[i]
                    gs[i] = rate * (gs[i] / (hs[i].squareRoot() + delta))
                }
            }
        case .rmsProp:
            // H = decay·H + (1 − decay)·g²; update = rate·g / (√H + δ).
            Self.chunked(n) { r in
                for i in r {
                    hs[i] = (1 - decay) * (gs[i] * gs[i]) + decay * hs[i]
                    gs[i] = rate * (gs[i] / (hs[i].squareRoot() + delta))
                }
            }
        case .adaDelta:
            // Hg = ρ·Hg + (1 − ρ)·g²; u = g·√((Hu + δ) / (Hg + δ));
            // Hu = ρ·Hu + (1 − ρ)·u²; update = rate·u (ρ is momentum).
            let us = h2s!
            Self.chunked(n) { r in
                for i in r {
                    hs[i] = (1 - mom) * (gs[i] * gs[i]) + mom * hs[i]
                    let u = gs[i] * ((us[i] + delta) / (hs[i] + delta)).squareRoot()
                    us[i] = (1 - mom) * (u * u) + mom * us[i]
                    gs[i] = rate * u
                }
            }
        case .adam:
            // m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
            // update = rate·√(1 − β2^t)/(1 − β1^t) · m / (√v + ε), t = iteration + 1.
            let vs = h2s!
            let t = Float(iteration + 1)
            let correction = (1 - pow(mom2, t)).squareRoot() / (1 - pow(mom, t))
            let step = rate * correction
            Self.chunked(n) { r in
                for i in r {
                    hs[i] = (1 - mom) * gs[i] + mom * hs[i]
                    vs[i] = (1 - mom2) * (gs[i] * gs[i]) + mom2 * vs[i]
                    gs[i] = step * (hs[i] / (vs[i].squareRoot() + delta))
                }
            }
        }
    }

    /// Element-wise work in contiguous ranges, in parallel for large blobs.
    static func chunked(_ n: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let grain = 1 << 16
        let chunks = (n + grain - 1) / grain
        if chunks <= 1 { body(0..<n); return }
        Parallel.forEach(chunks) { c in body(c * grain..<min(n, (c + 1) * grain)) }
    }
}
