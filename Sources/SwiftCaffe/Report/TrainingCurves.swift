import Foundation

/// One point of a curve: the iteration, the seconds since the run started
/// (nil when a log has no time stamps), and the value.
public struct CurvePoint: Sendable, Equatable {
    public var iteration: Int
    public var seconds: Double?
    public var value: Float

    public init(iteration: Int, seconds: Double?, value: Float) {
        self.iteration = iteration
        self.seconds = seconds
        self.value = value
    }
}

/// Curves of one training run: train loss and test outputs by iteration,
/// read from a Caffe-format log (Caffe's own or SwiftCaffe's) or collected
/// while training.
public struct TrainingCurves: Sendable {
    public var name: String
    public var trainLoss: [CurvePoint] = []
    /// Test outputs by name ("accuracy", "loss"), of test net #0.
    public var test: [String: [CurvePoint]] = [:]

    public init(name: String) { self.name = name }

    /// Parses the lines parse_log.py reads: "Iteration N (...), loss = X"
    /// (or "Iteration N, loss = X"), "Iteration N, Testing net (#0)" and the
    /// "Test net output #j: NAME = V" lines after it. Seconds count, as
    /// parse_log.py's do, from the glog time of the "Solving" line (else the
    /// first time stamp), across midnight.
    public static func parse(log text: String, name: String) -> TrainingCurves {
        var c = TrainingCurves(name: name)
        var testing: Int?
        var clock = GlogClock()
        for raw in text.split(whereSeparator: \.isNewline) {
            let split = raw.range(of: "] ")
            let line = split.map { String(raw[$0.upperBound...]) } ?? String(raw)
            let seconds = split.flatMap { clock.seconds(prefix: raw[..<$0.lowerBound], starts: line.hasPrefix("Solving")) }
            if line.hasPrefix("Iteration ") {
                let rest = line.dropFirst("Iteration ".count)
                let digits = rest.prefix { $0.isNumber }
                guard let it = Int(digits) else { continue }
                if line.contains("Testing net (#0)") {
                    testing = it
                } else if line.contains("Testing net") {
                    testing = nil
                } else if let r = line.range(of: "loss = "), let v = Float(line[r.upperBound...].prefix { !$0.isWhitespace }) {
                    c.trainLoss.append(CurvePoint(iteration: it, seconds: seconds, value: v))
                }
            } else if let it = testing, line.hasPrefix("    Test net output #") {
                // "    Test net output #0: accuracy = 0.81" (optionally "(* 1 = ... loss)").
                guard let colon = line.range(of: ": "), let eq = line.range(of: " = ", range: colon.upperBound..<line.endIndex) else { continue }
                let key = String(line[colon.upperBound..<eq.lowerBound])
                if let v = Float(line[eq.upperBound...].prefix { !$0.isWhitespace }) {
                    c.test[key, default: []].append(CurvePoint(iteration: it, seconds: seconds, value: v))
                }
            }
        }
        return c
    }
}

/// Seconds of glog prefixes ("I1201 15:27:41.333760  9683 File.swift:12")
/// since the first line, or since the "Solving" line once it is seen.
struct GlogClock {
    private var origin: Double?
    private var last = 0.0, days = 0.0
    private var solving = false

    mutating func seconds(prefix: Substring, starts isSolving: Bool) -> Double? {
        let parts = prefix.split(separator: " ")
        guard parts.count >= 2, parts[0].count == 5, "IWEF".contains(parts[0].first!) else { return nil }
        let hms = parts[1].split(separator: ":").compactMap { Double($0) }
        guard hms.count == 3 else { return nil }
        var t = hms[0] * 3600 + hms[1] * 60 + hms[2] + days
        if t < last - 43200 { days += 86400; t += 86400 }  // past midnight
        last = t
        if isSolving && !solving { solving = true; origin = t }
        if origin == nil { origin = t }
        return t - origin!
    }
}

/// Line charts as SVG, written by hand (no plotting library): one panel per
/// quantity, one coloured line per run, axes with round ticks on one x range
/// for every panel, and the legend under each panel, outside the data.
public enum SVGChart {
    public struct Series: Sendable {
        public var label: String
        public var points: [(Double, Double)]
        public init(label: String, points: [(Double, Double)]) {
            self.label = label
            self.points = points
        }
    }

    public struct Panel: Sendable {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        public init(title: String, yLabel: String, series: [Series]) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
        }
    }

    /// What the x axis counts.
    public enum XAxis: String, Sendable, CaseIterable {
        case iterations, seconds
    }

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// The width a label takes at 12 px sans-serif, generously.
    static func textWidth(_ s: String) -> Double { Double(s.count) * 7.2 }

    /// Panels side by side, one x range for all (`xLabel` under each).
    public static func render(_ panels: [Panel], title: String, xLabel: String = "iteration") -> String {
        let plot = (w: 380.0, h: 250.0)
        let xs = panels.flatMap { $0.series.flatMap { $0.points.filter { $0.1.isFinite }.map(\.0) } }
        let (xt, xlo, xhi) = ticks(xs.min() ?? 0, xs.max() ?? 0)
        let yTicks = panels.map { p -> ([Double], Double, Double) in
            let ys = p.series.flatMap { $0.points.map(\.1).filter(\.isFinite) }
            return ticks(ys.min() ?? 0, ys.max() ?? 0)
        }
        // Room for the widest y tick label, the rotated y label, and the last x tick label's half.
        let yLabels = yTicks.flatMap { t in t.0.map { label($0, step: step(of: t.0)) } }
        let left = 34 + (yLabels.map(textWidth).max() ?? 30)
        let right = max(16, textWidth(label(xt.last ?? 0, step: step(of: xt))) / 2 + 8)
        let legendRows = panels.map(\.series.count).max() ?? 0
        let top = 56.0, bottom = 44 + Double(legendRows) * 18 + 10
        let pw = left + plot.w + right
        let width = Double(panels.count) * pw, height = top + plot.h + bottom
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        for (p, panel) in panels.enumerated() {
            let x0 = Double(p) * pw + left, x1 = x0 + plot.w
            let y0 = top, y1 = top + plot.h
            let (yt, ylo, yhi) = yTicks[p]
            func X(_ v: Double) -> Double { xhi > xlo ? x0 + (v - xlo) / (xhi - xlo) * (x1 - x0) : (x0 + x1) / 2 }
            func Y(_ v: Double) -> Double { yhi > ylo ? y1 - (v - ylo) / (yhi - ylo) * (y1 - y0) : (y0 + y1) / 2 }
            s += "<text x=\"\((x0 + x1) / 2)\" y=\"\(y0 - 12)\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
            for t in yt {
                s += "<line x1=\"\(x0)\" y1=\"\(Y(t))\" x2=\"\(x1)\" y2=\"\(Y(t))\" stroke=\"#eee\"/>"
                s += "<text x=\"\(x0 - 6)\" y=\"\(Y(t) + 4)\" text-anchor=\"end\">\(label(t, step: step(of: yt)))</text>\n"
            }
            for t in xt {
                s += "<line x1=\"\(X(t))\" y1=\"\(y1)\" x2=\"\(X(t))\" y2=\"\(y1 + 4)\" stroke=\"#888\"/>"
                s += "<text x=\"\(X(t))\" y=\"\(y1 + 17)\" text-anchor=\"middle\">\(label(t, step: step(of: xt)))</text>\n"
            }
            s += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(plot.w)\" height=\"\(plot.h)\" fill=\"none\" stroke=\"#888\"/>\n"
            s += "<text x=\"\((x0 + x1) / 2)\" y=\"\(y1 + 35)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
            s += "<text transform=\"translate(\(x0 - left + 14),\((y0 + y1) / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(panel.yLabel))</text>\n"
            for (k, series) in panel.series.enumerated() {
                let c = colours[k % colours.count]
                let pts = series.points.filter { $0.1.isFinite }.map { (X($0.0), Y($0.1)) }
                if pts.count > 1 {
                    let list = pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
                    s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.6\" points=\"\(list)\"/>\n"
                }
                // Few points (tests) get markers, so a lone point is seen.
                if pts.count <= 25 {
                    for (x, y) in pts { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\" fill=\"%@\"/>", x, y, c) }
                    s += "\n"
                }
                let ly = y1 + 44 + Double(k + 1) * 18 - 4
                s += "<line x1=\"\(x0)\" y1=\"\(ly - 4)\" x2=\"\(x0 + 22)\" y2=\"\(ly - 4)\" stroke=\"\(c)\" stroke-width=\"2\"/>"
                s += "<text x=\"\(x0 + 28)\" y=\"\(ly)\">\(escape(series.label))</text>\n"
            }
        }
        return s + "</svg>\n"
    }

    /// Round tick values covering [lo, hi] and the range they span; a single
    /// value gets one tick of its own, not made-up neighbours.
    static func ticks(_ lo: Double, _ hi: Double) -> ([Double], Double, Double) {
        guard hi - lo > 1e-12 * max(1, abs(hi)) else { return ([lo], lo, lo) }
        let raw = (hi - lo) / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let start = floor(lo / step) * step, end = ceil(hi / step) * step
        var out: [Double] = []
        var t = start
        while t <= end + step / 2 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return (out, start, end)
    }

    static func step(of ticks: [Double]) -> Double { ticks.count > 1 ? ticks[1] - ticks[0] : 0 }

    /// A tick's text with as many decimals as the step needs (0.25 → 2),
    /// whole numbers of 10,000 and more with thousands separators.
    static func label(_ v: Double, step: Double) -> String {
        if step == 0 { return v == v.rounded() && abs(v) < 1e15 ? grouped(Int(v)) : String(format: "%g", v) }
        let decimals = max(0, Int(ceil(-log10(step) - 1e-9)) + (step / pow(10, floor(log10(step))) == 2.5 ? 1 : 0))
        if decimals == 0, abs(v) < 1e15 { return grouped(Int(v.rounded())) }
        return String(format: "%.\(min(decimals, 10))f", v)
    }

    /// 12500 → "12,500"; below 10,000 as is (axis labels stay narrow).
    static func grouped(_ n: Int) -> String { abs(n) >= 10_000 ? NumberText.grouped(n) : String(n) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The standard training chart: train loss (with `smooth` > 1, the
    /// trailing mean of that many points), and each test output, against
    /// iterations or seconds. Seconds need every point's time.
    public static func training(_ runs: [TrainingCurves], title: String, x: XAxis = .iterations, smooth: Int = 1) throws -> String {
        func points(_ c: [CurvePoint], of run: String) throws -> [(Double, Double)] {
            try c.map { p in
                switch x {
                case .iterations: return (Double(p.iteration), Double(p.value))
                case .seconds:
                    guard let t = p.seconds else {
                        throw CaffeError.usage("\(run) has points without a time (a log without glog time stamps); plot against iterations")
                    }
                    return (t, Double(p.value))
                }
            }
        }
        var panels = [Panel(title: "train loss" + (smooth > 1 ? " (mean of \(smooth))" : ""), yLabel: "loss", series: try runs.map {
            Series(label: $0.name, points: trailingMean(try points($0.trainLoss, of: $0.name), smooth))
        })]
        let outputs = Set(runs.flatMap { $0.test.keys }).sorted { ($0 == "accuracy" ? "" : $0) < ($1 == "accuracy" ? "" : $1) }
        for o in outputs {
            panels.append(Panel(title: "test \(o)", yLabel: o, series: try runs.map {
                Series(label: $0.name, points: try points($0.test[o] ?? [], of: $0.name))
            }))
        }
        return render(panels, title: title, xLabel: x == .iterations ? "iteration" : "seconds")
    }

    /// Each point's value replaced by the mean of it and the n − 1 before it.
    static func trailingMean(_ p: [(Double, Double)], _ n: Int) -> [(Double, Double)] {
        guard n > 1 else { return p }
        var sum = 0.0
        return p.indices.map { i in
            sum += p[i].1
            if i >= n { sum -= p[i - n].1 }
            return (p[i].0, sum / Double(min(i + 1, n)))
        }
    }
}

/// Collects a run's curves while it trains.
public final class CurveRecorder: SolverObserver {
    public private(set) var curves: TrainingCurves

    public init(name: String) { curves = TrainingCurves(name: name) }

    public func solver(_ s: Solver, displayedIteration iteration: Int, loss: Float, rate: Float, outputs: [Solver.Output], seconds: Double) {
        curves.trainLoss.append(CurvePoint(iteration: iteration, seconds: seconds, value: loss))
    }

    public func solver(_ s: Solver, testedAt iteration: Int, net: Int, outputs: [Solver.Output]) {
        guard net == 0 else { return }
        var seen: Set<String> = []
        for o in outputs where seen.insert(o.name).inserted {
            curves.test[o.name, default: []].append(CurvePoint(iteration: iteration, seconds: s.trainSeconds, value: o.value))
        }
    }
}
