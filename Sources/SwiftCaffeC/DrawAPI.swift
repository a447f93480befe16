import Foundation
import SwiftCaffe

// caffe.draw for the Python module: a net's text (as caffe_pb2's
// text_format writes it) drawn as Graphviz DOT, or as an SVG, PNG or PDF
// file through Graphviz's dot, as `swiftcaffe draw` draws it.

/// Draws the net in `text` (its layers in `phase`: 0 TRAIN, 1 TEST) to
/// `path`: .dot/.gv as DOT, .svg/.png/.pdf through dot. rankdir is LR, TB,
/// RL or BT.
@_cdecl("sc_draw_net")
public func sc_draw_net(_ text: UnsafePointer<CChar>, _ rankdir: UnsafePointer<CChar>, _ phase: Int32,
                        _ path: UnsafePointer<CChar>) -> Int32 {
    guarded {
        let direction = String(cString: rankdir), output = String(cString: path)
        guard ["LR", "TB", "RL", "BT"].contains(direction) else {
            throw CaffeError.usage("rankdir must be LR, TB, RL or BT, found '\(direction)'")
        }
        guard let phase = Caffe.Phase(rawValue: phase) else { throw CaffeError.usage("phase must be TRAIN (0) or TEST (1), found \(phase)") }
        let ext = (output as NSString).pathExtension.lowercased()
        guard ["dot", "gv", "svg", "png", "pdf"].contains(ext) else {
            throw CaffeError.usage("the file must end in .dot, .gv, .svg, .png or .pdf, found '\(output)'")
        }
        let loaded = try ModelFile.loadNet(bytes: Array(String(cString: text).utf8), file: "caffe_net (NetParameter)")
        // Data sources need not exist to draw a net.
        let graph = try loaded.graph(.init(state: NetState(phase: phase)), data: .ifReadable { _ in })
        let dot = DotWriter.dot(graph, rankdir: direction)
        if ext == "dot" || ext == "gv" {
            let file = try OutputFile(output)
            try file.write(dot)
            try file.commit()
        } else {
            try Pictures.writeGraph(dot, format: ext, to: output)
        }
    }
}
