import Foundation
import XCTest
@testable import SwiftCaffe

/// `plot` and `compare` pictures: what the chart says and the files written.
final class ChartTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("chart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A short log as Caffe prints it, with glog times 10 s apart, a test at 0 and one at 200.
    private func writeLog(_ name: String = "caffe.log", stamps: Bool = true) throws -> String {
        let lines = [
            ("10:00:00.000000", "Solving LeNet"),
            ("10:00:01.000000", "Iteration 0, Testing net (#0)"),
            ("10:00:01.500000", "    Test net output #0: accuracy = 0.0858"),
            ("10:00:02.000000", "Iteration 0 (0 iter/s, 0.1s/100 iters), loss = 2.35"),
            ("10:00:12.000000", "Iteration 100 (10 iter/s, 10s/100 iters), loss = 0.25"),
            ("10:00:22.000000", "Iteration 200, loss = 0.15"),
            ("10:00:22.500000", "Iteration 200, Testing net (#0)"),
            ("10:00:23.000000", "    Test net output #0: accuracy = 0.9741"),
        ]
        let path = tmp.appendingPathComponent(name).path
        try lines.map { stamps ? "I0315 \($0.0)  4242 Solver.swift:1] \($0.1)" : $0.1 }.joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testTicksLabelsAndSmoothing() {
        // One value gets one tick of its own, not neighbours such as 999.6 and 1000.4.
        XCTAssertEqual(SVGChart.ticks(1000, 1000).0, [1000])
        XCTAssertEqual(SVGChart.ticks(0, 2400).0, [0, 500, 1000, 1500, 2000, 2500])
        XCTAssertEqual(SVGChart.ticks(0.8, 0.9).0.map { SVGChart.label($0, step: 0.02) }, ["0.80", "0.82", "0.84", "0.86", "0.88", "0.90"])
        XCTAssertEqual(SVGChart.label(0.25, step: 0.25), "0.25")
        XCTAssertEqual(SVGChart.label(450_000, step: 100_000), "450,000")
        XCTAssertEqual(SVGChart.label(2000, step: 500), "2000")
        XCTAssertEqual(NumberText.grouped(-1234567), "-1,234,567")
        XCTAssertEqual(NumberText.grouped(-100), "-100")
        let smoothed = SVGChart.trailingMean([(0, 3), (1, 1), (2, 2), (3, 6)], 2)
        XCTAssertEqual(smoothed.map(\.1), [3, 2, 1.5, 4])
    }

    func testLogTimesAndTheLegendOutsideTheData() throws {
        let c = TrainingCurves.parse(log: try String(contentsOfFile: try writeLog(), encoding: .utf8), name: "lenet")
        XCTAssertEqual(c.trainLoss.map(\.seconds), [2, 12, 22], "seconds since the Solving line")
        XCTAssertEqual(c.test["accuracy"]?.map(\.seconds), [1.5, 23])
        let svg = try SVGChart.training([c], title: "lenet", x: .seconds)
        XCTAssertTrue(svg.contains(">seconds</text>"))
        // The legend's text sits below the plot frame, not on the data.
        let frame = try XCTUnwrap(svg.range(of: #"<rect x="[0-9.]+" y="([0-9.]+)" width="[0-9.]+" height="([0-9.]+)" fill="none""#,
                                             options: .regularExpression).map { String(svg[$0]) })
        let numbers = frame.split(separator: "\"").compactMap { Double($0) }
        let bottom = numbers[1] + numbers[3]
        let legend = try XCTUnwrap(svg.range(of: #"<text x="[0-9.]+" y="([0-9.]+)">lenet</text>"#, options: .regularExpression).map { String(svg[$0]) })
        XCTAssertGreaterThan(try XCTUnwrap(legend.split(separator: "\"").compactMap { Double($0) }.last), bottom)
        // The width leaves room for the last x label: no text starts past the picture's edge.
        let width = try XCTUnwrap(Double(svg.split(separator: "\"")[3]))
        for m in svg.matches(of: #/<text x="([0-9.]+)"[^>]*text-anchor="middle">([^<]*)</#) {
            XCTAssertLessThanOrEqual(Double(m.1)! + SVGChart.textWidth(String(m.2)) / 2, width, String(m.2))
        }
        // A log without glog time stamps cannot be drawn against seconds.
        let bare = TrainingCurves.parse(log: try String(contentsOfFile: try writeLog("bare.log", stamps: false), encoding: .utf8), name: "bare")
        XCTAssertEqual(bare.trainLoss.count, 3)
        XCTAssertThrowsError(try SVGChart.training([bare], title: "bare", x: .seconds)) { e in
            XCTAssertEqual("\(e)", "error: bare has points without a time (a log without glog time stamps); plot against iterations")
        }
    }

    func testPlotWritesPNGAndPDFOrSaysWhatIsMissing() throws {
        let log = try writeLog()
        let png = tmp.appendingPathComponent("curves.png").path
        let r = try CLITests.run(["plot", log, "-o", png, "--smooth", "2"])
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsvg-convert") else {
            throw XCTSkip("rsvg-convert is not installed (make test installs librsvg2-bin)")
        }
        XCTAssertEqual(r.status, 0, r.stderr)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG magic")
        XCTAssertGreaterThan(bytes.count, 10_000, "a drawn chart, not an empty picture")
        // The PNG's width and height (IHDR): the SVG's size.
        let w = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertGreaterThan(w, 800)
        XCTAssertGreaterThan(h, 300)
        let pdf = tmp.appendingPathComponent("curves.pdf").path
        XCTAssertEqual(try CLITests.run(["plot", log, "-o", pdf, "--x", "seconds"]).status, 0)
        XCTAssertEqual(String(decoding: try Data(contentsOf: URL(fileURLWithPath: pdf)).prefix(5), as: UTF8.self), "%PDF-")

        let jpg = try CLITests.run(["plot", log, "-o", tmp.appendingPathComponent("c.jpg").path])
        XCTAssertEqual(jpg.status, 2)
        XCTAssertTrue(jpg.stderr.contains("-o must end in .svg, .png or .pdf, found"), jpg.stderr)
        // Without a converter on PATH: the package to install, and nothing written.
        let missing = tmp.appendingPathComponent("none.png").path
        let none = try CLITests.run(["plot", log, "-o", missing], environment: ["PATH": tmp.path])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("writing .png needs rsvg-convert (Debian: apt-get install librsvg2-bin) or cairosvg (pip install cairosvg)"),
                      none.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func testCompareTimesTheSwappedLayersAndKeepsItsFilesInOutput() throws {
        // Two nets that differ only in the order of pool and relu, on the tiny IDX fixture.
        func solver(_ name: String, _ middle: String) throws -> String {
            let path = try TrainCLITestsSupport.solver(in: tmp, maxIter: 10, name: "\(name).prototxt")
            let text = try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "name: \"tiny\"", with: "name: \"\(name)\"")
                .replacingOccurrences(of: "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"data\"", with: """
                    layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
                    \(middle)
                    layer { name: "ip" type: "InnerProduct" bottom: "c"
                    """)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let pool = #"layer { name: "pool" type: "Pooling" bottom: "X" top: "Y" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }"#
        let relu = #"layer { name: "relu" type: "ReLU" bottom: "X" top: "Y" }"#
        func chain(_ first: String, _ second: String) -> String {
            first.replacingOccurrences(of: "\"X\"", with: "\"conv\"").replacingOccurrences(of: "\"Y\"", with: "\"m\"") + "\n"
                + second.replacingOccurrences(of: "\"X\"", with: "\"m\"").replacingOccurrences(of: "\"Y\"", with: "\"c\"")
        }
        let a = try solver("poolfirst", chain(pool, relu)), b = try solver("relufirst", chain(relu, pool))
        let out = tmp.appendingPathComponent("cmp").path
        let r = try CLITests.run(["compare", "--solver", a, "--solver", b, "--output", out, "--timing-passes", "12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| pool fwd+bwd ms, median (min–max) "), r.stdout)
        XCTAssertTrue(r.stdout.contains("| swapped layers together, ms "), r.stdout)
        XCTAssertTrue(r.stdout.contains("Layers in a different order: pool, relu; their times are of 12 forward-backward passes"), r.stdout)
        XCTAssertNotNil(r.stdout.range(of: #"(poolfirst|relufirst)'s order is [0-9.]+× cheaper \([0-9.]+ vs [0-9.]+ ms per pass, medians\); "#,
                                       options: .regularExpression), r.stdout)
        // Logs and snapshots inside --output, none beside the solvers.
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["1-poolfirst.log", "1-poolfirst_iter_10.caffemodel", "1-poolfirst_iter_10.solverstate",
                               "2-relufirst.log", "2-relufirst_iter_10.caffemodel", "2-relufirst_iter_10.solverstate",
                               "compare.md", "compare.svg"])
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: tmp.path).contains { $0.hasSuffix(".caffemodel") })
    }
}
