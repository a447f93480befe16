import COpenBLAS
import Foundation
import SwiftCaffe

// `make bench`: SwiftCaffe beside its peers, measured in one run.
//  1. Reading nets: parse + upgrade + build AlexNet's train_val (target < 10 ms),
//     against C++ protobuf TextFormat (Caffe's reader) and Python text_format.
//  2. Running nets: AlexNet and CaffeNet forward at batch 1 and 10 and
//     forward+backward at batch 10, against OpenCV DNN on the same prototxt and
//     weights (FormulaParameters); the machine's sgemm rate and the bound it
//     implies; peak RSS of a batch-10 AlexNet forward.
//  3. The zoo at batch 1 and 10 beside ncnn, onnxruntime (both on SwiftCaffe's
//     ONNX export) and OpenCV DNN, with the memory-copy bandwidth and each
//     net's bound.
// Peers live in .build/bench-peer (make bench-peers); a missing one is reported, not faked.

let args = CommandLine.arguments
func option(_ name: String, _ fallback: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return fallback
}
let peerDir = option("--peers", ".build/bench-peer")
let iterations = Int(option("--iterations", "20")) ?? 20
let parseIterations = Int(option("--parse-iterations", "300")) ?? 300

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func measure(_ n: Int, _ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
    var ms: [Double] = []
    for _ in 0..<n {
        let t0 = now()
        try body()
        ms.append(Double(now() - t0) / 1e6)
    }
    ms.sort()
    return (ms[ms.count / 2], ms[0])
}

func runPeer(_ exe: String, _ arguments: [String]) -> (Double, Double)? {
    runPeerWithNotes(exe, arguments).map { ($0.median, $0.min) }
}

func f(_ x: Double, _ width: Int = 8) -> String {
    let s = String(format: "%.2f", x)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }

/// A net from a deploy prototxt at a batch size, with formula weights and
/// input; `dropping` leaves out layers of those types (MobileNet-SSD's
/// DetectionOutput, for peers that take the net up to its heads).
func makeNet(_ path: String, batch: Int, forceBackward: Bool = false, dropping: Set<String> = []) throws -> Net {
    var loaded = try ModelFile.loadNet(path: path)
    loaded.net.layers.removeAll { dropping.contains($0.type) }
    let input = loaded.net.layers.first { $0.type == "Input" }?.proto.inputParam.shape.first?.dim ?? [10, 3, 227, 227]
    var graph = try NetGraph.build(loaded.net, options: .init(state: NetState(phase: .test), inputShapes: ["data": [batch] + input.dropFirst()]))
    graph.forceBackward = forceBackward
    let net = try Net(graph: graph)
    FormulaParameters.fill(net, fileLayers: loaded.net.layers)
    let data = net.blob("data")!
    data.set(FormulaParameters.values(data.count, salt: 0, scale: 100))
    return net
}

/// A deploy net's forward at `batch`: SwiftCaffe's median and min ms, and OpenCV DNN's
/// on the same prototxt and formula weights (nil when the peer is missing).
/// The two alternate for `rounds` rounds and each keeps its best median: on
/// a shared machine a burst of load slows whichever side it lands on, and
/// alternating gives both the same chance of a quiet round.
func forwardBesideOpenCV(_ path: String, batch: Int, runs: Int, threads: Int, rounds: Int = 1) throws
    -> (ours: (median: Double, min: Double), peer: (Double, Double)?) {
    let n = try makeNet(path, batch: batch)
    try n.forward()
    var ours = (median: Double.infinity, min: Double.infinity)
    var peer: (Double, Double)?
    for _ in 0..<max(1, rounds) {
        let o = try measure(runs) { try n.forward() }
        ours = (min(ours.median, o.median), min(ours.min, o.min))
        if let p = runPeer("\(peerDir)/venv/bin/python", [URL(fileURLWithPath: "Benchmarks/peers/opencv_peer.py").path, peerDir,
                                                           URL(fileURLWithPath: path).path, String(batch), String(runs), String(threads)]) {
            peer = peer.map { (min($0.0, p.0), min($0.1, p.1)) } ?? p
        }
    }
    return (ours, peer)
}

/// The classic nets of Models/ forward at batch 1 and 10 beside OpenCV DNN
/// (section 3c; `--zoo-only` runs just this, `--zoo-nets a,b` only those). Fewer runs than AlexNet's:
/// VGG-16 at batch 10 takes seconds per pass.
func benchZoo(threads: Int, kernel: String) throws {
    let runs = Int(option("--zoo-iterations", "5")) ?? 5
    let rounds = Int(option("--zoo-rounds", "2")) ?? 2
    print("")
    print("Classic nets, forward (\(runs) runs, \(4 * runs) at batch 1, best median of \(rounds) alternating rounds, ms)")
    print("                                        batch  SwiftCaffe  OpenCV DNN  ratio  (target: ratio ≤ 0.7)  kernel")
    let nets = option("--zoo-nets", "lenet,squeezenet,nin,googlenet,resnet50,vgg16").split(separator: ",").map(String.init)
    for net in nets {
        let path = "Models/\(net)/deploy.prototxt"
        for batch in [1, 10] {
            // Batch 1 passes are short: four times the runs, so that one slow
            // run after the peer's process does not decide the median.
            let (ours, peer) = try forwardBesideOpenCV(path, batch: batch, runs: batch == 1 ? 4 * runs : runs, threads: threads,
                                                       rounds: rounds)
            print(pad("  \(net) forward", 38) + "  \(String(format: "%5d", batch))  " + f(ours.median, 10) + "  "
                  + (peer.map { f($0.0, 10) + "  " + f(ours.median / $0.0, 5) } ?? "       n/a    n/a ") + "                         \(kernel)")
        }
    }
}

/// The machine's memory bandwidth, a STREAM-like copy of 256 MiB split
/// across the threads: bytes read + written per second, best of 10, in GB/s.
func copyBandwidth() -> Double {
    let count = 64 << 20
    let source = UnsafeMutablePointer<Float>.allocate(capacity: count), destination = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { source.deallocate(); destination.deallocate() }
    let (src, dst) = (SharedPointer(source), SharedPointer(destination))
    let chunks = 64, chunk = count / chunks
    func copy() { Parallel.forEach(chunks) { c in memcpy(dst.advanced(by: c * chunk), src.advanced(by: c * chunk), chunk * 4) } }
    Parallel.forEach(chunks) { c in for i in c * chunk..<(c + 1) * chunk { src[i] = Float(i & 1023); dst[i] = 0 } }
    copy()
    let best = measure(10) { copy() }.min
    return 2 * Double(count * 4) / (best / 1000) / 1e9
}

/// Zoo nets one image at a time (and at batch 10) beside ncnn, onnxruntime
/// and OpenCV DNN (section 3d; `--batch1-only` runs just this, `--batch1-nets a,b`
/// only those). ncnn and onnxruntime run SwiftCaffe's own ONNX export of the
/// same net and formula weights (BatchNorm folded), written under the peers'
/// folder and remade when this bench is newer; pnnx converts it for ncnn.
/// Each net's bound at batch 1 is the larger of its flops at the sgemm rate
/// and its weight bytes at the copy bandwidth (activations not counted).
func benchBatchOne(threads: Int, sgemmRate: Double, bandwidth: Double) throws {
    let runs = Int(option("--batch1-iterations", "10")) ?? 10
    let rounds = Int(option("--batch1-rounds", "2")) ?? 2
    let python = "\(peerDir)/venv/bin/python"
    let nets = option("--batch1-nets", "alexnet,caffenet,googlenet,resnet50,squeezenet,vgg16,mobilenet_v1,mobilenet_v2,mobilenet_ssd")
        .split(separator: ",").map(String.init)
    let folder = "\(peerDir)/onnx"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let benchBuilt = (try? FileManager.default.attributesOfItem(atPath: CommandLine.arguments[0])[.modificationDate] as? Date) ?? Date()
    print("")
    print("Zoo nets beside ncnn and onnxruntime (\(runs) runs at batch 10, \(4 * runs) at batch 1, best median of \(rounds) alternating rounds, ms;")
    print("  ratio = SwiftCaffe ÷ peer, target ≤ 1.0 × ncnn and ≤ 0.8 × OpenCV DNN at batch 1; bound = max(flops ÷ sgemm rate, weights ÷ bandwidth))")
    print("                        batch  SwiftCaffe      ncnn ratio  onnxruntime ratio  OpenCV DNN ratio   bound  % of bound")
    var options: Set<String> = []
    for name in nets {
        let path = "Models/\(name)/deploy.prototxt"
        let dropping: Set<String> = ["DetectionOutput"]
        let onnx = "\(folder)/\(name).onnx"
        let made = (try? FileManager.default.attributesOfItem(atPath: onnx)[.modificationDate] as? Date) ?? .distantPast
        let probe = try makeNet(path, batch: 1, dropping: dropping)
        if made < benchBuilt {
            try OnnxExport.write(probe, to: onnx, options: .init(dynamicBatch: true, foldBatchNorm: true))
        }
        let flops = 2 * Double(probe.graph.totalMACs ?? 0)
        let weightBytes = 4 * Double(probe.layers.reduce(0) { $0 + $1.params.reduce(0) { $0 + $1.count } })
        for batch in [1, 10] {
            let n = batch == 1 ? probe : try makeNet(path, batch: batch, dropping: dropping)
            try n.forward()
            let count = batch == 1 ? 4 * runs : runs
            var ours = Double.infinity
            var peers: [String: Double] = [:]
            func peer(_ key: String, _ arguments: [String]) {
                guard let r = runPeerWithNotes(python, arguments) else { return }
                peers[key] = min(peers[key] ?? .infinity, r.median)
                options.formUnion(r.notes)
            }
            for _ in 0..<max(1, rounds) {
                ours = min(ours, try measure(count) { try n.forward() }.median)
                peer("ncnn", [URL(fileURLWithPath: "Benchmarks/peers/ncnn_peer.py").path, onnx, String(batch), String(count), String(threads)])
                peer("onnxruntime", [URL(fileURLWithPath: "Benchmarks/peers/onnxruntime_peer.py").path, onnx, String(batch), String(count), String(threads)])
                if name != "mobilenet_ssd" {
                    peer("opencv", [URL(fileURLWithPath: "Benchmarks/peers/opencv_peer.py").path, peerDir, URL(fileURLWithPath: path).path,
                                    String(batch), String(count), String(threads)])
                }
            }
            func column(_ key: String, _ width: Int) -> String {
                guard let p = peers[key] else { return String(repeating: " ", count: width - 3) + "n/a      " }
                return f(p, width) + " " + f(ours / p, 5)
            }
            // The weights are read once per pass, whatever the batch.
            let bound = max(flops * Double(batch) / (sgemmRate * 1e9), weightBytes / (bandwidth * 1e9)) * 1000
            let label: String = pad("  \(name)\(name == "mobilenet_ssd" ? "*" : "")", 22) + "  " + String(format: "%5d", batch) + "  "
            let engines: String = f(ours, 10) + column("ncnn", 10) + "  " + column("onnxruntime", 11) + " " + column("opencv", 10)
            let bounds: String = " " + f(bound, 7) + "  " + f(bound / ours * 100, 6) + " %"
            print(label + engines + bounds)
            if name == "alexnet", batch == 1 {
                // --weights-precision fp16 beside ncnn's default, fp16 weight storage.
                n.storeWeights(as: .fp16)
                var oursHalf = Double.infinity
                for _ in 0..<max(1, rounds) {
                    oursHalf = min(oursHalf, try measure(count) { try n.forward() }.median)
                    peer("ncnn fp16", [URL(fileURLWithPath: "Benchmarks/peers/ncnn_peer.py").path, onnx, String(batch), String(count),
                                       String(threads), "--fp16"])
                }
                n.storeWeights(as: .fp32)
                let half = peers["ncnn fp16"].map { f($0, 10) + " " + f(oursHalf / $0, 5) } ?? "       n/a      "
                print(pad("  alexnet fp16 fc", 22) + "      1  " + f(oursHalf, 10) + half + "   (ncnn's default: fp16 weight storage)")
            }
        }
    }
    print("  * MobileNet-SSD up to its loc, conf and prior outputs (DetectionOutput left out for every engine)")
    for o in options.sorted() { print("  \(o)") }
    if options.isEmpty { print("  ncnn and onnxruntime unavailable (make bench-peers installs ncnn, pnnx and onnxruntime)") }
}

/// A peer's "median min" line, and the lines it prints starting with "# ".
func runPeerWithNotes(_ exe: String, _ arguments: [String]) -> (median: Double, min: Double, notes: [String])? {
    guard FileManager.default.isExecutableFile(atPath: exe) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    let notes = lines.filter { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) }
    let parts = lines.filter { !$0.hasPrefix("#") }.joined(separator: " ").split(separator: " ").compactMap { Double($0) }
    guard p.terminationStatus == 0, parts.count == 2 else { return nil }
    return (parts[0], parts[1], notes)
}

/// The training step beside PyTorch's (section 3b; `--train-only` runs just this).
func benchTraining() throws {
    let trainIterations = Int(option("--train-iterations", "5")) ?? 5
    print("")
    print("Training step (\(trainIterations) runs, median ms)  batch  SwiftCaffe     PyTorch  ratio  (target: ratio ≤ 1)")
    for net in ["caffenet", "alexnet"] {
        for batch in [10, 64] {
            let solver = try trainingSolver(net, batch: batch)
            try solver.step(1)
            let ours = try measure(trainIterations) { try solver.step(1) }
            let peer = runPeer("\(peerDir)/venv/bin/python", [URL(fileURLWithPath: "Benchmarks/peers/torch_train_peer.py").path, net,
                                                               String(batch), String(trainIterations), String(Parallel.threads)])
            print(pad("  \(net) SGD step", 38) + "  \(String(format: "%5d", batch))  " + f(ours.median, 10) + "  "
                  + (peer.map { f($0.0, 10) + "  " + f(ours.median / $0.0, 5) } ?? "       n/a    n/a  (make bench-peers installs torch)"))
        }
    }
}

/// A solver over Models/<net>/train_val.prototxt whose Data layers give way
/// to one DummyData layer (constant images, label 1): Caffe's AlexNet solver
/// settings (SGD, lr 0.01, momentum 0.9, weight decay 0.0005).
func trainingSolver(_ net: String, batch: Int) throws -> Solver {
    var text = try String(contentsOfFile: "Models/\(net)/train_val.prototxt", encoding: .utf8)
    // Cut the layers that read data (the first two layers of the file).
    var cut = text.startIndex
    for _ in 0..<2 {
        guard let l = text.range(of: "layer {", range: cut..<text.endIndex),
              let next = text.range(of: "\nlayer {", range: l.upperBound..<text.endIndex) else { break }
        if text[l.lowerBound..<next.lowerBound].contains("type: \"Data\"") {
            text.removeSubrange(l.lowerBound..<next.lowerBound)
            cut = l.lowerBound
        } else {
            cut = next.lowerBound
        }
    }
    let dummy = """
    layer { name: "data" type: "DummyData" top: "data" top: "label"
      dummy_data_param { shape { dim: \(batch) dim: 3 dim: 227 dim: 227 } shape { dim: \(batch) }
        data_filler { type: "constant" value: 0.5 } data_filler { type: "constant" value: 1 } } }

    """
    let solverText = "net_param {\n" + dummy + text + "\n}\nbase_lr: 0.01 lr_policy: \"step\" gamma: 0.1 stepsize: 100000 "
        + "momentum: 0.9 weight_decay: 0.0005 max_iter: 1000000 snapshot_after_train: false display: 0\n"
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(net)-\(batch).prototxt").path
    try solverText.write(toFile: path, atomically: true, encoding: .utf8)
    return try Solver(ModelFile.loadSolver(path: path))
}

/// Peak resident memory of this process image, in MiB: /proc's VmHWM (ru_maxrss
/// would include the parent's peak, which Linux carries across exec).
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kb / 1024
}

KernelSelection.selectAtLaunch()
if args.contains("--train-only") {
    try benchTraining()
    exit(0)
}
if let n = KernelSelection.note { print(n) }
if args.contains("--batch1-only") {
    print("BLAS: \(BLAS.summary)")
    let rate = measureSgemmRate(threads: Parallel.threads), bandwidth = copyBandwidth()
    print(String(format: "sgemm 2048³: %.1f GFLOP/s; memory copy: %.1f GB/s", rate, bandwidth))
    try benchBatchOne(threads: Parallel.threads, sgemmRate: rate, bandwidth: bandwidth)
    exit(0)
}
if args.contains("--zoo-only") {
    print("BLAS: \(BLAS.summary)")
    try benchZoo(threads: Parallel.threads, kernel: BLAS.coreName)
    exit(0)
}

// Per-layer forward ms of a deploy net (unfused), for finding what bounds a row,
// then the whole pass (--whole: that alone, e.g. under perf record):
// --profile PROTOTXT [--batch N] [--whole]
if args.contains("--profile") {
    let net = try makeNet(option("--profile", ""), batch: Int(option("--batch", "10")) ?? 10)
    try net.forward()
    if args.contains("--whole") {
        print(pad("whole forward, median", 40) + f(try measure(iterations) { try net.forward() }.median))
        exit(0)
    }
    var ms = Array(repeating: [Double](), count: net.layers.count)
    for _ in 0..<iterations {
        for i in net.layers.indices { ms[i].append(try measure(1) { try net.forward(layer: i) }.median) }
    }
    for (i, l) in net.layers.enumerated() {
        let sorted = ms[i].sorted()
        print(pad(l.name, 24) + pad(l.type, 16) + f(sorted[sorted.count / 2]))
    }
    print(pad("sum of medians", 40) + f(ms.map { $0.sorted()[$0.count / 2] }.reduce(0, +)))
    // The whole pass as `make bench` times it (fused layers, no per-layer timers).
    print(pad("whole forward, median", 40) + f(try measure(iterations) { try net.forward() }.median))
    exit(0)
}

// A child process loads the BVLC-layout AlexNet weights alone, for their peak RSS:
// the file is read first (mapped, decoded, unmapped), then the net is built and filled.
if args.contains("--load-probe") {
    let model = try CaffeModel(path: option("--load-probe", ""))
    if args.contains("--stages") { print("after reading the file:", String(format: "%.1f", peakRSS()), "MiB") }
    let loaded = try ModelFile.loadNet(path: "Models/alexnet/deploy.prototxt")
    let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [1, 3, 227, 227]])))
    _ = try WeightCopier.copy(model, into: net)
    print(String(format: "%.1f", peakRSS()))
    exit(0)
}

// A child process measures the peak RSS of a batch-10 AlexNet forward alone.
if args.contains("--rss-probe") {
    let net = try makeNet(option("--rss-probe", ""), batch: 10)
    try net.forward()
    print(String(format: "%.1f", peakRSS()))
    exit(0)
}

let kernel = BLAS.coreName
let threads = Parallel.threads
print("SwiftCaffe benchmark — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(threads) thread(s); BLAS: \(BLAS.summary)")
if let w = BLAS.kernelWarning { print(w) }
print("")

// 1. Reading nets (skipped by --forward-only, which stops after section 3).
if !args.contains("--forward-only") {
    let file = "Models/alexnet/train_val.prototxt"
    let bytes = try readFile(file)
    let total = try measure(parseIterations) {
        let n = try ModelFile.loadNet(bytes: bytes, file: file)
        _ = try NetGraph.build(n.net, options: .init(state: NetState(phase: .train)))
    }
    let parse = try measure(parseIterations) { _ = try PrototxtParser.parse(bytes: bytes, file: file, as: CaffeSchema.netParameter) }
    print("Reading \(file) (\(parseIterations) runs)            median ms    min ms")
    print(pad("SwiftCaffe parse + upgrade + build (target < 10 ms)", 52) + "\(f(total.median))  \(f(total.min))   "
          + (total.median < 10 ? "met" : "NOT met"))
    print(pad("SwiftCaffe parse only", 52) + "\(f(parse.median))  \(f(parse.min))")
    let absolute = URL(fileURLWithPath: file).path
    let peers: [(String, String, [String])] = [
        ("C++ protobuf TextFormat parse (Caffe's reader)", "\(peerDir)/parse_peer", [absolute, String(parseIterations)]),
        ("Python protobuf text_format parse (pycaffe)", "\(peerDir)/venv/bin/python",
         [URL(fileURLWithPath: "Benchmarks/peers/parse_peer.py").path, absolute, String(parseIterations), peerDir]),
    ]
    for (name, exe, arguments) in peers {
        if let (median, min) = runPeer(exe, arguments) {
            print(pad(name, 52) + "\(f(median))  \(f(min))   SwiftCaffe parse / peer = \(String(format: "%.2f", parse.median / median))")
        } else {
            print(pad(name, 52) + "   unavailable (make bench-peers)")
        }
    }
    print("")
}

// 2. sgemm rate and memory bandwidth on this machine, and the bounds they imply.
func measureSgemmRate(threads: Int) -> Double {
    let n = 2048
    let a = Blob([n, n]), b = Blob([n, n]), c = Blob([n, n])
    a.set(FormulaParameters.values(n * n, salt: 1, scale: 1))
    b.set(FormulaParameters.values(n * n, salt: 2, scale: 1))
    // The machine's rate is its best run (a shared machine only ever slows a
    // run down), the better of SwiftCaffe's split across its threads and
    // OpenBLAS's own threading, which the runtime leaves off (BLAS.swift).
    func best() -> Double {
        BLAS.gemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data)
        return measure(10) { BLAS.gemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data) }.min
    }
    let split = best()
    openblas_set_num_threads(Int32(threads))
    let library = measure(11) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a.data, Int32(n), b.data, Int32(n),
                    0, c.data, Int32(n))
    }.min
    openblas_set_num_threads(1)
    return 2 * Double(n * n * n) / (min(split, library) / 1000) / 1e9
}
let sgemmRate = measureSgemmRate(threads: threads)
let bandwidth = copyBandwidth()
let macsPerImage = 724_406_816.0
let boundMS = macsPerImage * 2 / (sgemmRate * 1e9) * 1000
print(String(format: "sgemm 2048³: %.1f GFLOP/s (kernel %@); bound for AlexNet/CaffeNet: %.2f ms per image (724 M MACs × 2 flops ÷ rate)",
             sgemmRate, kernel, boundMS))
print(String(format: "memory copy (STREAM-like, 256 MiB, %d threads): %.1f GB/s read + written", threads, bandwidth))
print("")

// 3. Running nets.
let rounds = Int(option("--rounds", "3")) ?? 3
print("Running nets (\(iterations) runs, best median of \(rounds) alternating rounds, ms)")
print("                                        batch  SwiftCaffe  OpenCV DNN  ratio   % of sgemm bound  kernel")
for net in ["alexnet", "caffenet"] {
    let path = "Models/\(net)/deploy.prototxt"
    for batch in [1, 10] {
        let (ours, peer) = try forwardBesideOpenCV(path, batch: batch, runs: iterations, threads: threads, rounds: rounds)
        let bound = boundMS * Double(batch) / ours.median * 100
        print(pad("  \(net) forward", 38) + "  \(String(format: "%5d", batch))  " + f(ours.median, 10) + "  "
              + (peer.map { f($0.0, 10) + "  " + f(ours.median / $0.0, 5) } ?? "       n/a    n/a ") + "   " + f(bound, 8) + " %        \(kernel)")
    }
    let n = try makeNet(path, batch: 10, forceBackward: true)
    try n.forward()
    let both = try measure(iterations) {
        try n.forward()
        n.seedOutputGradients()
        for i in n.layers.indices.reversed() { try n.backward(layer: i) }
    }
    print(pad("  \(net) forward+backward", 38) + "  \(String(format: "%5d", 10))  " + f(both.median, 10)
          + "         n/a (OpenCV DNN has no backward)        \(kernel)")
}

if args.contains("--forward-only") { exit(0) }

// 3c. The classic nets of Models/.
try benchZoo(threads: threads, kernel: kernel)

// 3d. Batch 1 beside ncnn and onnxruntime.
try benchBatchOne(threads: threads, sgemmRate: sgemmRate, bandwidth: bandwidth)

// 3b. Training: one solver iteration (forward, backward, SGD update) of the
// train_val nets with their Data layers replaced by constant DummyData, beside
// PyTorch's training step of the same nets in the same run.
try benchTraining()

// 4. Memory: a separate process, so nothing else counts.
let probe = Process()
probe.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
probe.arguments = ["--rss-probe", "Models/alexnet/deploy.prototxt"]
let pipe = Pipe()
probe.standardOutput = pipe
try probe.run()
let rss = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
probe.waitUntilExit()
print("")
print("Peak RSS of a batch-10 AlexNet forward (233 MB of weights included): \(rss) MiB (target ≤ 1.5 GB)")

// 5. Loading published-size weights (BVLC AlexNet's V1 layout, made by make bench-peers).
let weights = "\(peerDir)/alexnet_bvlc_layout.caffemodel"
if FileManager.default.fileExists(atPath: weights) {
    let loaded = try ModelFile.loadNet(path: "Models/alexnet/deploy.prototxt")
    let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [1, 3, 227, 227]])))
    var size = 0
    let t = try measure(5) {
        let model = try CaffeModel(path: weights)
        size = model.fileSize
        _ = try WeightCopier.copy(model, into: net)
    }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["--load-probe", weights]
    let out = Pipe()
    child.standardOutput = out
    try child.run()
    let rssText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    child.waitUntilExit()
    let mib = Double(size) / 1_048_576
    let rss = Double(rssText) ?? 0
    print(String(format: "Loading %.1f MiB of AlexNet weights (BVLC V1 layout) into AlexNet: median %.0f ms, min %.0f ms (target ≤ 1000 ms: %@); "
                 + "peak RSS %.0f MiB = %.2f× the file (target ≤ 2.5×: %@)",
                 mib, t.median, t.min, t.median <= 1000 ? "met" : "NOT met", rss, rss / mib, rss / mib <= 2.5 ? "met" : "NOT met"))
} else {
    print("Loading published-size weights: \(weights) is missing (make bench-peers makes it)")
}
