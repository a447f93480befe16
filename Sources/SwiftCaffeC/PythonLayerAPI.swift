import Foundation
import SwiftCaffe

// Python layers for the Python module: one C callback runs every Python
// layer object, told which (a token SwiftCaffe picks) and what to do.
//
//   int32_t callback(int64_t token, int32_t op, const char *info,
//                    void **first, int32_t n_first, void **second, int32_t n_second,
//                    const int32_t *propagate_down);
//
// op 0 create: info is JSON {"name", "module", "layer", "param_str", "phase"};
//              first = bottoms, second = tops (set up and reshaped by the callee)
// op 1 reshape, op 2 forward: first = bottoms, second = tops
// op 3 backward: first = tops, second = bottoms, propagate_down[n_second]
// op 4 release: the layer object is no longer needed
// It returns 0, or non-zero after a failure the caller keeps (the Python
// exception, raised again when the C call returns).
public typealias LayerCallback = @convention(c) (Int64, Int32, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                                 Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32,
                                                 UnsafePointer<Int32>?) -> Int32

enum LayerOp: Int32 { case create = 0, reshape, forward, backward, release }

final class CallbackLayers: ExternalLayerMaker {
    let callback: LayerCallback
    private static let lock = NSLock()
    nonisolated(unsafe) private static var lastToken: Int64 = 0

    init(_ callback: LayerCallback) { self.callback = callback }

    static func nextToken() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        lastToken += 1
        return lastToken
    }

    func call(_ token: Int64, _ op: LayerOp, info: String? = nil, _ first: [Blob], _ second: [Blob], propagateDown: [Bool] = [],
              layer: LayerParameter) throws {
        var a = first.map { Optional(Unmanaged.passUnretained($0).toOpaque()) }
        var b = second.map { Optional(Unmanaged.passUnretained($0).toOpaque()) }
        let down = propagateDown.map { Int32($0 ? 1 : 0) }
        let status = a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                down.withUnsafeBufferPointer { pd in
                    withOptionalCString(info) { callback(token, op.rawValue, $0, pa.baseAddress, Int32(pa.count), pb.baseAddress, Int32(pb.count), pd.baseAddress) }
                }
            }
        }
        guard status == 0 else {
            throw CaffeError.at(layer.location, "\(layer.label): the Python layer's \(op) failed (module '\(layer.proto.pythonParam.module)', "
                                + "class '\(layer.proto.pythonParam.layer)'); the Python exception follows")
        }
    }

    func make(_ layer: LayerParameter, phase: Phase, bottoms: [Blob], tops: [Blob]) throws -> any ExternalLayer {
        let p = layer.proto.pythonParam
        let info: [String: Any] = ["name": layer.name, "module": p.module, "layer": p.layer, "param_str": p.paramStr, "phase": Int(phase.rawValue)]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)
        let token = Self.nextToken()
        try call(token, .create, info: json, bottoms, tops, layer: layer)
        return CallbackLayer(token: token, maker: self, layer: layer, standIns: bottoms + tops)
    }
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

/// One Python layer object, by its token.
final class CallbackLayer: ExternalLayer {
    let token: Int64
    let maker: CallbackLayers
    let layer: LayerParameter
    /// The blobs its setup saw: kept, since the Python object may hold them.
    let standIns: [Blob]

    init(token: Int64, maker: CallbackLayers, layer: LayerParameter, standIns: [Blob]) {
        (self.token, self.maker, self.layer, self.standIns) = (token, maker, layer, standIns)
    }

    deinit { try? maker.call(token, .release, [], [], layer: layer) }

    func reshape(bottoms: [Blob], tops: [Blob]) throws { try maker.call(token, .reshape, bottoms, tops, layer: layer) }
    func forward(bottoms: [Blob], tops: [Blob]) throws { try maker.call(token, .forward, bottoms, tops, layer: layer) }
    func backward(tops: [Blob], propagateDown: [Bool], bottoms: [Blob]) throws {
        try maker.call(token, .backward, tops, bottoms, propagateDown: propagateDown, layer: layer)
    }
}
