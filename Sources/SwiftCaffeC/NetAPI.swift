import Foundation
import SwiftCaffe

// SwiftCaffe's C ABI, for the Python module (python/swiftcaffe) and any
// other language that can call C. Nets are opaque handles; a blob handle is
// valid while its net lives. Every call that can fail returns 0, or -1 with
// the reason in sc_last_error() (this thread's last failure). Nothing here
// traps on input a caller can give: names, indices and shapes are checked.

/// One thread's last failure, as a C string that lives until the next one.
enum LastError {
    static let key = "SwiftCaffeC.lastError"

    final class Text {
        let pointer: UnsafeMutablePointer<CChar>
        init(_ s: String) { pointer = strdup(s)! }
        deinit { free(pointer) }
    }

    static func set(_ message: String) { Thread.current.threadDictionary[key] = Text(message) }

    static var pointer: UnsafePointer<CChar>? { (Thread.current.threadDictionary[key] as? Text).map { UnsafePointer($0.pointer) } }
}

/// Runs `body`; a thrown error becomes -1 and the thread's last error.
func guarded(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return 0
    } catch {
        LastError.set("\(error)")
        return -1
    }
}

/// A net and the C strings handed out for it (freed with it).
final class NetBox {
    let net: Net
    private var strings: [String: UnsafeMutablePointer<CChar>] = [:]

    init(_ net: Net) { self.net = net }

    deinit { for p in strings.values { free(p) } }

    func cString(_ s: String) -> UnsafePointer<CChar> {
        if let p = strings[s] { return UnsafePointer(p) }
        let p = strdup(s)!
        strings[s] = p
        return UnsafePointer(p)
    }

    /// The tops of the Input layers: Caffe's net inputs.
    lazy var inputs: [String] = net.inputNames
    /// Blobs no layer reads, by name in sorted order, as Caffe's net outputs.
    lazy var outputs: [String] = net.outputBlobNames.sorted()
}

/// names[i] as a C string the net keeps, or NULL past the end.
func name(_ h: UnsafeMutableRawPointer, _ names: [String], _ i: Int32) -> UnsafePointer<CChar>? {
    names.indices.contains(Int(i)) ? box(h).cString(names[Int(i)]) : nil
}

func box(_ h: UnsafeMutableRawPointer) -> NetBox { Unmanaged<NetBox>.fromOpaque(h).takeUnretainedValue() }
func blob(_ b: UnsafeMutableRawPointer) -> Blob { Unmanaged<Blob>.fromOpaque(b).takeUnretainedValue() }

@_cdecl("sc_last_error")
public func sc_last_error() -> UnsafePointer<CChar>? { LastError.pointer }

@_cdecl("sc_version")
public func sc_version() -> UnsafePointer<CChar> { UnsafePointer(versionString) }
nonisolated(unsafe) private let versionString = strdup(SwiftCaffeVersion.string)!

/// Builds the net in `prototxt` for phase (0 TRAIN, 1 TEST), level and
/// stages, with `weights` (a .caffemodel, or NULL) copied in by layer name;
/// fillers and random layers are seeded by `seed`; its Python layers run
/// through `layers` (see PythonLayerAPI.swift), or are refused when it is NULL.
@_cdecl("sc_net_create")
public func sc_net_create(_ prototxt: UnsafePointer<CChar>, _ weights: UnsafePointer<CChar>?, _ phase: Int32, _ level: Int32,
                          _ stages: UnsafePointer<UnsafePointer<CChar>?>?, _ stageCount: Int32, _ seed: UInt64, _ layers: LayerCallback?,
                          _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32 {
    guarded {
        guard let phase = Caffe.Phase(rawValue: phase) else {
            throw CaffeError.usage("phase must be TRAIN (0) or TEST (1), found \(phase)")
        }
        let names = (0..<Int(max(0, stageCount))).compactMap { stages?[$0].map { String(cString: $0) } }
        let loaded = try ModelFile.loadNet(path: String(cString: prototxt))
        let net = try loaded.net(.init(state: NetState(phase: phase, level: Int(level), stages: names)), seed: seed,
                                 externalLayers: layers.map(CallbackLayers.init))
        // Scripts read any blob after a forward, so nothing is fused away.
        net.fusesForInference = false
        // Caffe sets each loss top's gradient to its weight once, at set up.
        net.setLossDiffs()
        if let weights { _ = try WeightCopier.copy(try CaffeModel(path: String(cString: weights)), into: net) }
        out.pointee = Unmanaged.passRetained(NetBox(net)).toOpaque()
    }
}

@_cdecl("sc_net_free")
public func sc_net_free(_ h: UnsafeMutableRawPointer?) {
    if let h { Unmanaged<NetBox>.fromOpaque(h).release() }
}

@_cdecl("sc_net_name")
public func sc_net_name(_ h: UnsafeMutableRawPointer) -> UnsafePointer<CChar> { box(h).cString(box(h).net.graph.name) }

@_cdecl("sc_net_phase")
public func sc_net_phase(_ h: UnsafeMutableRawPointer) -> Int32 { box(h).net.phase.rawValue }

// Blobs, in Caffe's order (first appearance; an in-place top is its bottom's blob).

@_cdecl("sc_net_blob_count")
public func sc_net_blob_count(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(box(h).net.blobNames.count) }

@_cdecl("sc_net_blob_name")
public func sc_net_blob_name(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafePointer<CChar>? {
    name(h, box(h).net.blobNames, i)
}

@_cdecl("sc_net_blob")
public func sc_net_blob(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafeMutableRawPointer? {
    let names = box(h).net.blobNames
    guard names.indices.contains(Int(i)), let b = box(h).net.blob(names[Int(i)]) else { return nil }
    return Unmanaged.passUnretained(b).toOpaque()
}

@_cdecl("sc_net_input_count")
public func sc_net_input_count(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(box(h).inputs.count) }

@_cdecl("sc_net_input_name")
public func sc_net_input_name(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafePointer<CChar>? { name(h, box(h).inputs, i) }

@_cdecl("sc_net_output_count")
public func sc_net_output_count(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(box(h).outputs.count) }

@_cdecl("sc_net_output_name")
public func sc_net_output_name(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafePointer<CChar>? { name(h, box(h).outputs, i) }

// Layers: name, type, parameter blobs, bottom and top blob names.

@_cdecl("sc_net_layer_count")
public func sc_net_layer_count(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(box(h).net.layers.count) }

func layer(_ h: UnsafeMutableRawPointer, _ i: Int32) -> Layer? {
    let layers = box(h).net.layers
    return layers.indices.contains(Int(i)) ? layers[Int(i)] : nil
}

@_cdecl("sc_net_layer_name")
public func sc_net_layer_name(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafePointer<CChar>? {
    layer(h, i).map { box(h).cString($0.name) }
}

@_cdecl("sc_net_layer_type")
public func sc_net_layer_type(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafePointer<CChar>? {
    layer(h, i).map { box(h).cString($0.type) }
}

@_cdecl("sc_net_layer_param_count")
public func sc_net_layer_param_count(_ h: UnsafeMutableRawPointer, _ i: Int32) -> Int32 { Int32(layer(h, i)?.params.count ?? 0) }

@_cdecl("sc_net_layer_param")
public func sc_net_layer_param(_ h: UnsafeMutableRawPointer, _ i: Int32, _ k: Int32) -> UnsafeMutableRawPointer? {
    guard let l = layer(h, i), l.params.indices.contains(Int(k)) else { return nil }
    return Unmanaged.passUnretained(l.params[Int(k)]).toOpaque()
}

/// which: 0 bottoms, 1 tops.
@_cdecl("sc_net_layer_blob_count")
public func sc_net_layer_blob_count(_ h: UnsafeMutableRawPointer, _ i: Int32, _ which: Int32) -> Int32 {
    guard let l = layer(h, i) else { return 0 }
    return Int32(which == 0 ? l.parameter.bottoms.count : l.parameter.tops.count)
}

@_cdecl("sc_net_layer_blob_name")
public func sc_net_layer_blob_name(_ h: UnsafeMutableRawPointer, _ i: Int32, _ which: Int32, _ k: Int32) -> UnsafePointer<CChar>? {
    guard let l = layer(h, i) else { return nil }
    return name(h, which == 0 ? l.parameter.bottoms : l.parameter.tops, k)
}

/// The layer types SwiftCaffe runs, one per line.
@_cdecl("sc_layer_types")
public func sc_layer_types() -> UnsafePointer<CChar> { UnsafePointer(layerTypes) }
nonisolated(unsafe) private let layerTypes = strdup(runnableLayerTypes.joined(separator: "\n"))!

/// Hands `count` records (data: count × C×H×W floats; labels: count) to
/// the net's first layer, which must be a MemoryData layer (pycaffe's
/// set_input_arrays). The arrays are copied.
@_cdecl("sc_net_set_input_arrays")
public func sc_net_set_input_arrays(_ h: UnsafeMutableRawPointer, _ data: UnsafePointer<Float>, _ dataCount: Int64,
                                    _ labels: UnsafePointer<Float>, _ count: Int64) -> Int32 {
    guarded {
        guard let memory = box(h).net.layers.first as? MemoryDataLayer else {
            throw CaffeError.usage("set_input_arrays may only be called if the first layer is a MemoryDataLayer")
        }
        try memory.reset(data: Array(UnsafeBufferPointer(start: data, count: Int(dataCount))),
                         labels: Array(UnsafeBufferPointer(start: labels, count: Int(count))))
    }
}

// Running.

func checkRange(_ h: UnsafeMutableRawPointer, _ a: Int32, _ b: Int32, forward: Bool) throws {
    let n = box(h).net.layers.count
    guard n > 0, (0..<n).contains(Int(a)), (0..<n).contains(Int(b)), forward ? a <= b : a >= b else {
        throw CaffeError.usage("layers \(a) to \(b) are not a \(forward ? "forward" : "backward") range of the net's \(n) layers")
    }
}

/// Forward through layers start...end; the loss into *loss.
@_cdecl("sc_net_forward")
public func sc_net_forward(_ h: UnsafeMutableRawPointer, _ start: Int32, _ end: Int32, _ loss: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded {
        try checkRange(h, start, end, forward: true)
        let l = try box(h).net.forward(from: Int(start), to: Int(end))
        loss?.pointee = l
    }
}

/// Backward through layers start down to end.
@_cdecl("sc_net_backward")
public func sc_net_backward(_ h: UnsafeMutableRawPointer, _ start: Int32, _ end: Int32) -> Int32 {
    guarded {
        try checkRange(h, start, end, forward: false)
        try box(h).net.backward(from: Int(start), to: Int(end))
    }
}

@_cdecl("sc_net_reshape")
public func sc_net_reshape(_ h: UnsafeMutableRawPointer) -> Int32 { guarded { try box(h).net.reshape() } }

@_cdecl("sc_net_clear_param_diffs")
public func sc_net_clear_param_diffs(_ h: UnsafeMutableRawPointer) { box(h).net.clearParamDiffs() }

// Weights.

@_cdecl("sc_net_copy_from")
public func sc_net_copy_from(_ h: UnsafeMutableRawPointer, _ path: UnsafePointer<CChar>) -> Int32 {
    guarded { _ = try WeightCopier.copy(try CaffeModel(path: String(cString: path)), into: box(h).net) }
}

/// precision: "fp32", "fp16" or "bf16" (Net.storeWeights(as:)).
@_cdecl("sc_net_store_weights")
public func sc_net_store_weights(_ h: UnsafeMutableRawPointer, _ precision: UnsafePointer<CChar>) -> Int32 {
    guarded {
        let name = String(cString: precision)
        guard let p = WeightPrecision(rawValue: name) else {
            throw CaffeError.usage("weights precision must be fp32, fp16 or bf16, found '\(name)'")
        }
        box(h).net.storeWeights(as: p)
    }
}

@_cdecl("sc_net_save")
public func sc_net_save(_ h: UnsafeMutableRawPointer, _ path: UnsafePointer<CChar>) -> Int32 {
    guarded { try CaffeModelWriter.write(box(h).net, to: String(cString: path)) }
}

@_cdecl("sc_net_share_with")
public func sc_net_share_with(_ h: UnsafeMutableRawPointer, _ other: UnsafeMutableRawPointer) -> Int32 {
    guarded { try box(h).net.shareParameters(with: box(other).net) }
}

/// Writes the net (its current weights) as an ONNX model.
@_cdecl("sc_net_export_onnx")
public func sc_net_export_onnx(_ h: UnsafeMutableRawPointer, _ path: UnsafePointer<CChar>, _ opset: Int32, _ dynamicBatch: Int32,
                               _ foldBatchNorm: Int32, _ allowApproximate: Int32) -> Int32 {
    guarded {
        try OnnxExport.write(box(h).net, to: String(cString: path), options: .init(opset: Int(opset), dynamicBatch: dynamicBatch != 0,
                                                                                   foldBatchNorm: foldBatchNorm != 0, allowApproximate: allowApproximate != 0))
    }
}

// Blobs: shape, memory, reshape.

@_cdecl("sc_blob_rank")
public func sc_blob_rank(_ b: UnsafeMutableRawPointer) -> Int32 { Int32(blob(b).shape.count) }

@_cdecl("sc_blob_dims")
public func sc_blob_dims(_ b: UnsafeMutableRawPointer, _ out: UnsafeMutablePointer<Int64>) {
    for (i, d) in blob(b).shape.enumerated() { out[i] = Int64(d) }
}

@_cdecl("sc_blob_count")
public func sc_blob_count(_ b: UnsafeMutableRawPointer) -> Int64 { Int64(blob(b).count) }

/// The blob's values (which: 0) or gradients (1), count floats, C order.
@_cdecl("sc_blob_memory")
public func sc_blob_memory(_ b: UnsafeMutableRawPointer, _ which: Int32) -> UnsafeMutablePointer<Float> {
    which == 0 ? blob(b).data : blob(b).diff
}

@_cdecl("sc_blob_reshape")
public func sc_blob_reshape(_ b: UnsafeMutableRawPointer, _ dims: UnsafePointer<Int64>, _ rank: Int32) -> Int32 {
    guarded {
        let shape = (0..<Int(max(0, rank))).map { Int(dims[$0]) }
        try blob(b).checkedReshape(shape)
    }
}
