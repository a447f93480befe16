import Foundation

/// Curves of one training run: train loss and test outputs by iteration,
/// read from a Caffe-format log (Caffe's own or SwiftCaffe's) or collected
/// while training.
public struct TrainingCurves: Sendable {
    public var name: String
    public var trainLoss: [(iteration: Int, value: Float)] = []
    /// Test outputs by name ("accuracy", "loss"), of test net #0.
    public var test: [String: [(iteration: Int, value: Float)]] = [:]

    public init(name: String) { self.name = name }

    /// Parses the lines parse_log.py reads: "Iteration N (...), loss = X"
    /// (or "Iteration N, loss = X"), "Iteration N, Testing net (#0)" and the
    /// "Test net output #j: NAME = V" lines after it. glog prefixes are skipped.
    public static func parse(log text: String, name: String) -> TrainingCurves {
        var c = TrainingCurves(name: name)
        var testing: Int?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.range(of: "] ").map { String(raw[$0.upperBound...]) } ?? String(raw)
            if line.hasPrefix("Iteration ") {
                let rest = line.dropFirst("Iteration ".count)
                let digits = rest.prefix { $0.isNumber }
                guard let it = Int(digits) else { continue }
                if line.contains("Testing net (#0)") {
                    testing = it
                } else if line.contains("Testing net") {
                    testing = nil
                } else if let r = line.range(of: "loss = "), let v = Float(line[r.upperBound...].prefix { !$0.isWhitespace }) {
                    c.trainLoss.append((it, v))
                }
            } else if let it = testing, line.hasPrefix("    Test net output #") {
                // "    Test net output #0: accuracy = 0.81" (optionally "(* 1 = ... loss)").
                guard let colon = line.range(of: ": "), let eq = line.range(of: " = ", range: colon.upperBound..<line.endIndex) else { continue }
                let key = String(line[colon.upperBound..<eq.lowerBound])
                if let v = Float(line[eq.upperBound...].prefix { !$0.isWhitespace }) { c.test[key, default: []].append((it, v)) }
            }
        }
        return c
    }
}

/// Line charts as SVG, written by hand (no plotting library): one panel per
/// quantity, one coloured line per run, axes with round ticks, a legend.
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

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// Panels side by side, iteration on every x axis.
    public static func render(_ panels: [Panel], title: String) -> String {
        let pw = 460.0, ph = 320.0, margin = (l: 64.0, r: 16.0, t: 56.0, b: 48.0)
        let width = Double(panels.count) * pw, height = ph + 40
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="20" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        for (p, panel) in panels.enumerated() {
            let x0 = Double(p) * pw + margin.l, x1 = Double(p + 1) * pw - margin.r
            let y0 = margin.t, y1 = ph - margin.b + margin.t / 2
            let all = panel.series.flatMap(\.points).filter { $0.1.isFinite }
            guard !all.isEmpty else { continue }
            let (xt, xlo, xhi) = ticks(all.map(\.0).min()!, all.map(\.0).max()!)
            let (yt, ylo, yhi) = ticks(all.map(\.1).min()!, all.map(\.1).max()!)
            func X(_ v: Double) -> Double { x0 + (v - xlo) / max(xhi - xlo, 1e-12) * (x1 - x0) }
            func Y(_ v: Double) -> Double { y1 - (v - ylo) / max(yhi - ylo, 1e-12) * (y1 - y0) }
            s += "<text x=\"\((x0 + x1) / 2)\" y=\"\(y0 - 12)\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
            s += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(x1 - x0)\" height=\"\(y1 - y0)\" fill=\"none\" stroke=\"#888\"/>\n"
            for t in xt {
                s += "<line x1=\"\(X(t))\" y1=\"\(y1)\" x2=\"\(X(t))\" y2=\"\(y1 + 4)\" stroke=\"#888\"/>"
                s += "<text x=\"\(X(t))\" y=\"\(y1 + 16)\" text-anchor=\"middle\">\(label(t))</text>\n"
            }
            for t in yt {
                s += "<line x1=\"\(x0)\" y1=\"\(Y(t))\" x2=\"\(x1)\" y2=\"\(Y(t))\" stroke=\"#eee\"/>"
                s += "<text x=\"\(x0 - 6)\" y=\"\(Y(t) + 4)\" text-anchor=\"end\">\(label(t))</text>\n"
            }
            s += "<text x=\"\((x0 + x1) / 2)\" y=\"\(y1 + 34)\" text-anchor=\"middle\">iteration</text>\n"
            s += "<text transform=\"translate(\(x0 - 48),\((y0 + y1) / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(panel.yLabel))</text>\n"
            for (k, series) in panel.series.enumerated() {
                let c = colours[k % colours.count]
                let pts = series.points.filter { $0.1.isFinite }.map { String(format: "%.1f,%.1f", X($0.0), Y($0.1)) }
                if pts.count == 1 {
                    let xy = pts[0].split(separator: ",")
                    s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(c)\"/>\n"
                } else if !pts.isEmpty {
                    s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.6\" points=\"\(pts.joined(separator: " "))\"/>\n"
                }
                let ly = y0 + 14 + Double(k) * 16
                s += "<line x1=\"\(x1 - 150)\" y1=\"\(ly - 4)\" x2=\"\(x1 - 130)\" y2=\"\(ly - 4)\" stroke=\"\(c)\" stroke-width=\"2\"/>"
                s += "<text x=\"\(x1 - 126)\" y=\"\(ly)\">\(escape(series.label))</text>\n"
            }
        }
        return s + "</svg>\n"
    }

    /// Round tick values covering [lo, hi] and the widened range.
    static func ticks(_ lo: Double, _ hi: Double) -> ([Double], Double, Double) {
        var (a, b) = (lo, hi)
        if b - a < 1e-12 { a -= 0.5; b += 0.5 }
        let raw = (b - a) / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let start = floor(a / step) * step, end = ceil(b / step) * step
        var out: [Double] = []
        var t = start
        while t <= end + step / 2 { out.append(t); t += step }
        return (out, start, end)
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The standard training chart: train loss, and each test output.
    public static func training(_ runs: [TrainingCurves], title: String) -> String {
        var panels = [Panel(title: "train loss", yLabel: "loss", series: runs.map {
            Series(label: $0.name, points: $0.trainLoss.map { (Double($0.iteration), Double($0.value)) })
        })]
        let outputs = Set(runs.flatMap { $0.test.keys }).sorted { ($0 == "accuracy" ? "" : $0) < ($1 == "accuracy" ? "" : $1) }
        for o in outputs {
            panels.append(Panel(title: "test \(o)", yLabel: o, series: runs.map {
                Series(label: $0.name, points: ($0.test[o] ?? []).map { (Double($0.iteration), Double($0.value)) })
            }))
        }
        return render(panels, title: title)
    }
}

/// Collects a run's curves while it trains.
public final class CurveRecorder: SolverObserver {
    public private(set) var curves: TrainingCurves

    public init(name: String) { curves = TrainingCurves(name: name) }

    public func solver(_ s: Solver, displayedIteration iteration: Int, loss: Float, rate: Float, outputs: [Solver.Output], seconds: Double) {
        curves.trainLoss.append((iteration, loss))
    }

    public func solver(_ s: Solver, testedAt iteration: Int, net: Int, outputs: [Solver.Output]) {
        guard net == 0 else { return }
        var seen: Set<String> = []
        for o in outputs where seen.insert(o.name).inserted { curves.test[o.name, default: []].append((iteration, o.value)) }
    }
}
