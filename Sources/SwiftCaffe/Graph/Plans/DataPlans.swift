/// Input: tops whose shapes the net declares (`input_param { shape {...} }`):
/// one shape for every top, or one per top.
struct InputPlan: SourcePlan {
    static let type = "Input"
    static let tops = 1...Int.max
    let shapes: [Shape]

    init(_ l: LayerParameter) throws {
        shapes = l.param("input_param").messages("shape").map { $0.ints("dim") }
        if shapes.count > 1, shapes.count != l.tops.count {
            throw PlanError("\(l.tops.count) top(s) need 1 or \(l.tops.count) shapes, found \(shapes.count)", at: "input_param")
        }
        for s in shapes where s.contains(where: { $0 < 0 }) {
            throw PlanError("input shape \(s) has a negative dimension", at: "input_param")
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: (0..<topCount).map { shapes.isEmpty ? nil : shapes[shapes.count == 1 ? 0 : $0] })
    }
}

/// DummyData: constant or random tops of the declared shapes (N-D `shape`, or legacy num/channels/height/width).
struct DummyDataPlan: SourcePlan {
    static let type = "DummyData"
    static let tops = 1...Int.max
    let shapes: [Shape]

    init(_ l: LayerParameter) throws {
        let p = l.param("dummy_data_param")
        let nd = p.messages("shape").map { $0.ints("dim") }
        if !nd.isEmpty {
            shapes = nd
        } else {
            let n = p.ints("num"), c = p.ints("channels"), h = p.ints("height"), w = p.ints("width")
            let k = max(n.count, c.count, h.count, w.count)
            guard [n, c, h, w].allSatisfy({ $0.count == k || $0.count == 1 }), k > 0 else {
                throw PlanError("give 'shape', or num, channels, height and width each once or once per top",
                                at: "dummy_data_param")
            }
            func v(_ a: [Int], _ i: Int) -> Int { a.count == 1 ? a[0] : a[i] }
            shapes = (0..<k).map { [v(n, $0), v(c, $0), v(h, $0), v(w, $0)] }
        }
        guard shapes.count == 1 || shapes.count == l.tops.count else {
            throw PlanError("\(l.tops.count) top(s) need 1 or \(l.tops.count) shapes, found \(shapes.count)",
                            at: "dummy_data_param")
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: (0..<topCount).map { shapes[shapes.count == 1 ? 0 : $0] })
    }
}

/// The image size a data layer delivers when its transform crops; otherwise
/// only the database knows it.
private func croppedSize(_ l: LayerParameter) -> Int? {
    let crop = l.param("transform_param").int("crop_size")
    return crop > 0 ? crop : nil
}

/// Data: records from LMDB/LevelDB. Without a crop, channels and size come
/// from the records themselves; the graph leaves them unknown until
/// `--input-shape` names them.
struct DataPlan: SourcePlan {
    static let type = "Data"
    static let tops = 1...2
    let batch: Int
    let crop: Int?

    init(_ l: LayerParameter) throws {
        batch = l.param("data_param").int("batch_size")
        guard batch > 0 else { throw PlanError("batch_size must be > 0", at: "data_param", "batch_size") }
        crop = croppedSize(l)
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        // The records decide channels and size. With a crop the size is known;
        // colour images (3 channels) are then assumed, and said so.
        guard let c = crop else {
            return PlannedShapes(tops: Array([nil, [batch]].prefix(topCount)),
                                 warnings: ["image size comes from the database; give it with --input-shape TOP=N,C,H,W"])
        }
        return PlannedShapes(tops: Array([[batch, 3, c, c], [batch]].prefix(topCount)),
                             warnings: ["3 channels assumed (the database decides); override with --input-shape TOP=N,C,H,W"])
    }
}

struct ImageDataPlan: SourcePlan {
    static let type = "ImageData"
    static let tops = 2...2
    let batch: Int
    let channels: Int
    let size: (Int, Int)?

    init(_ l: LayerParameter) throws {
        let p = l.param("image_data_param")
        batch = p.int("batch_size")
        guard batch > 0 else { throw PlanError("batch_size must be > 0", at: "image_data_param", "batch_size") }
        channels = p.bool("is_color") ? 3 : 1
        let nh = p.int("new_height"), nw = p.int("new_width")
        if (nh > 0) != (nw > 0) {
            throw PlanError("new_height and new_width must be set together", at: "image_data_param")
        }
        if let c = croppedSize(l) { size = (c, c) } else if nh > 0 { size = (nh, nw) } else { size = nil }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: [size.map { [batch, channels, $0.0, $0.1] }, [batch]])
    }
}

struct MemoryDataPlan: SourcePlan {
    static let type = "MemoryData"
    static let tops = 2...2
    let shape: Shape

    init(_ l: LayerParameter) throws {
        let p = l.param("memory_data_param")
        shape = [p.int("batch_size"), p.int("channels"), p.int("height"), p.int("width")]
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw PlanError("batch_size, channels, height and width must all be > 0", at: "memory_data_param")
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: [shape, [shape[0]]]) }
}

/// HDF5Data: every top's shape is in the HDF5 files.
struct HDF5DataPlan: SourcePlan {
    static let type = "HDF5Data"
    static let tops = 1...Int.max
    init(_ l: LayerParameter) throws {}
    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: Array(repeating: nil, count: topCount)) }
}

struct WindowDataPlan: SourcePlan {
    static let type = "WindowData"
    static let tops = 2...2
    let batch: Int
    let crop: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("window_data_param")
        batch = p.int("batch_size")
        crop = croppedSize(l) ?? p.int("crop_size")
        guard batch > 0, crop > 0 else {
            throw PlanError("WindowData needs batch_size > 0 and crop_size > 0", at: "window_data_param")
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: [[batch, 3, crop, crop], [batch]]) }
}
