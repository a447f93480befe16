import Foundation

extension OnnxExport {
    /// export-onnx: the net in `netFile` (TEST phase, input shapes as given),
    /// with `weights` copied in by layer name or its fillers seeded by
    /// `seed`, written as an ONNX model to `output`. Returns the net, whose
    /// weights the model holds.
    @discardableResult
    public static func export(netFile: String, weights: String?, inputShapes: [String: Shape] = [:], seed: UInt64 = 1701,
                              prototxt: PrototxtOptions = .init(), options: Options = .init(), to output: String) throws -> Net {
        try refuseOverwritingInputs(output: output, inputs: [("net file", netFile)] + (weights.map { [("weights file", $0)] } ?? []))
        let loaded = try ModelFile.loadNet(path: netFile, options: prototxt)
        let net = try Net(graph: try loaded.graph(.init(state: NetState(phase: .test), inputShapes: inputShapes)), seed: seed)
        net.fusesForInference = false
        if let weights { _ = try WeightCopier.copy(try CaffeModel(path: weights), into: net) }
        do {
            try write(net, to: output, options: options)
        } catch let e as CaffeError {
            throw loaded.source.map { e.with(source: $0) } ?? e
        }
        return net
    }

    /// One output's agreement between SwiftCaffe and onnxruntime.
    public struct Agreement: Sendable {
        public var output: String
        public var maxAbsolute: Float
        /// max |a − b| / max(max |a|, 1e-6): the error relative to the output's scale.
        public var relative: Float
        /// Set when the two outputs' shapes differ (the errors are then infinite).
        public var shapes: (swiftCaffe: Shape, onnxruntime: Shape)?
    }

    /// Runs `model` (the export of `net`) with onnxruntime on seeded inputs
    /// in [−1, 1) and compares every output with SwiftCaffe's for the same
    /// inputs. onnxruntime is Python's: `python` (or SWIFTCAFFE_PYTHON, or
    /// python3) must have it.
    public static func check(_ net: Net, model: String, seed: UInt64 = 1, python: String? = nil) throws -> [Agreement] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-onnx-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var rng = RandomSource(seed: seed)
        let inputs = net.inputNames
        for (k, name) in inputs.enumerated() {
            guard let b = net.blob(name) else { continue }
            for i in 0..<b.count { b.data[i] = rng.uniform(-1, 1) }
            try NPY.write(NPY.Array(shape: b.shape, values: b.values), to: "\(folder)/in\(k).npy")
        }
        try net.forward()
        let outputs = net.outputBlobNames.sorted()
        for (k, name) in outputs.enumerated() {
            let b = net.blob(name)!
            try NPY.write(NPY.Array(shape: b.shape, values: b.values), to: "\(folder)/out\(k).npy")
        }
        let manifest = ["model": model, "inputs": inputs, "outputs": outputs, "folder": folder] as [String: Any]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: "\(folder)/manifest.json"))
        let program = python ?? ProcessInfo.processInfo.environment["SWIFTCAFFE_PYTHON"] ?? Pictures.executable("python3")
        guard let program else {
            throw CaffeError.usage("--check runs onnxruntime from Python, and no python3 was found; set SWIFTCAFFE_PYTHON to a Python with onnxruntime")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = ["-c", checkScript, "\(folder)/manifest.json"]
        let stdout = Pipe(), stderr = Pipe()
        (p.standardOutput, p.standardError) = (stdout, stderr)
        try p.run()
        let out = PipeReader(stdout.fileHandleForReading), err = PipeReader(stderr.fileHandleForReading)
        p.waitUntilExit()
        let printed = String(decoding: out.wait(), as: UTF8.self)
        let message = String(decoding: err.wait(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if p.terminationStatus == 3 {
            throw CaffeError.usage("--check needs onnxruntime and numpy in \(program): pip install onnxruntime numpy "
                                   + "(or set SWIFTCAFFE_PYTHON to a Python that has them)")
        }
        guard p.terminationStatus == 0 else {
            throw CaffeError.io(path: model, reason: "onnxruntime could not run the model (status \(p.terminationStatus))"
                                + (message.isEmpty ? "" : ":\n\(message)"))
        }
        return printed.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            if f.count == 4, f[1] == "shape" {
                func shape(_ s: Substring) -> Shape { s.split(separator: "x").compactMap { Int($0) } }
                return Agreement(output: String(f[0]), maxAbsolute: .infinity, relative: .infinity, shapes: (shape(f[2]), shape(f[3])))
            }
            guard f.count == 3, let a = Float(f[1]), let r = Float(f[2]) else { return nil }
            return Agreement(output: String(f[0]), maxAbsolute: a, relative: r)
        }
    }

    /// Reads the manifest, runs onnxruntime, prints "name max_abs relative" per output.
    static let checkScript = """
    import json, sys
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        sys.exit(3)
    m = json.load(open(sys.argv[1]))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(m["model"], options, providers=["CPUExecutionProvider"])
    feeds = {name: np.load("%s/in%d.npy" % (m["folder"], k)) for k, name in enumerate(m["inputs"])}
    # The model lists its outputs in the order of their Caffe blob names.
    results = session.run(None, feeds)
    for k, name in enumerate(m["outputs"]):
        want = np.load("%s/out%d.npy" % (m["folder"], k)).astype(np.float64)
        got = results[k].astype(np.float64)
        if got.shape != want.shape and got.size != want.size:
            print("%s shape %s %s" % (name, "x".join(map(str, want.shape)), "x".join(map(str, got.shape))))
            continue
        got = got.reshape(want.shape)
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-6)
        print("%s %.6g %.6g" % (name, err, err / scale))
    """
}
