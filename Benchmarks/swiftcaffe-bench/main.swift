import Foundation
import SwiftCaffe

// `make bench`: times reading and building a net (default AlexNet's
// train_val) and compares parsing with peers measured in the same run:
// C++ protobuf TextFormat (what Caffe runs) and Python protobuf text_format
// (what pycaffe's scripts run). Peers are built by the Makefile into
// .build/bench-peer; a missing one is reported, not faked.

let args = CommandLine.arguments
func option(_ name: String, _ fallback: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return fallback
}
let file = option("--file", "Models/alexnet/train_val.prototxt")
let iterations = Int(option("--iterations", "300")) ?? 300
let peerDir = option("--peers", ".build/bench-peer")

func measure(_ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
    var ms: [Double] = []
    for _ in 0..<iterations {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        ms.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    ms.sort()
    return (ms[ms.count / 2], ms[0])
}

func runPeer(_ exe: String, _ arguments: [String], cwd: String) -> (Double, Double)? {
    guard FileManager.default.isExecutableFile(atPath: exe) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    let out = Pipe()
    p.standardOutput = out
    do { try p.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    guard p.terminationStatus == 0, parts.count == 2 else { return nil }
    return (parts[0], parts[1])
}

do {
    let bytes = try readFile(file)
    let absolute = URL(fileURLWithPath: file).path
    var parsed: ParsedPrototxt!
    var loaded: LoadedNet!
    let parse = try measure { parsed = try PrototxtParser.parse(bytes: bytes, file: file, as: CaffeSchema.netParameter) }
    let model = try measure { loaded = try ModelFile.loadNet(message: parsed.message) }
    let build = try measure { _ = try NetGraph.build(loaded.net, options: .init(state: NetState(phase: .train))) }
    let total = try measure {
        let n = try ModelFile.loadNet(bytes: bytes, file: file)
        _ = try NetGraph.build(n.net, options: .init(state: NetState(phase: .train)))
    }

    func f(_ x: Double) -> String { String(format: "%8.3f", x) }
    print("SwiftCaffe prototxt benchmark: \(file), \(iterations) runs each, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    print("step                                            median ms    min ms")
    print("parse text → message                             \(f(parse.median))  \(f(parse.min))")
    print("upgrade + typed net                              \(f(model.median))  \(f(model.min))")
    print("build graph (TRAIN: filter, splits, shapes)      \(f(build.median))  \(f(build.min))")
    print("total: parse + upgrade + build                   \(f(total.median))  \(f(total.min))   target < 10 ms: \(total.median < 10 ? "met" : "NOT met")")
    print("")
    print("peer (parse only, same file, same run)           median ms    min ms   SwiftCaffe parse / peer")
    let peers: [(String, String, [String])] = [
        ("C++ protobuf TextFormat (Caffe's own reader)", "\(peerDir)/parse_peer", [absolute, String(iterations)]),
        ("Python protobuf text_format (pycaffe tools)", "\(peerDir)/venv/bin/python",
         [URL(fileURLWithPath: "Benchmarks/peers/parse_peer.py").path, absolute, String(iterations)]),
    ]
    for (name, exe, arguments) in peers {
        if let (median, min) = runPeer(exe, arguments, cwd: peerDir) {
            print(name.padding(toLength: 48, withPad: " ", startingAt: 0) + "\(f(median))  \(f(min))   \(String(format: "%.2f", parse.median / median))")
        } else {
            print(name.padding(toLength: 48, withPad: " ", startingAt: 0) + "   unavailable (run `make bench-peers`)")
        }
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
