import Foundation

/// Caffe's convert_imageset and convert_mnist_data: records written to a
/// new LMDB as serialised Datum values, under keys that keep the order.
public enum DatasetConversion {
    /// An image list ("path label" lines) to an LMDB. `encoded` stores each
    /// file's own JPEG/PNG bytes (as convert_imageset --encoded); otherwise
    /// decoded channels-first pixels, resized when a size is given.
    @discardableResult
    public static func convertImageSet(list: String, rootFolder: String, to db: String, color: Bool = true,
                                       size: (height: Int, width: Int)? = nil, shuffleSeed: UInt64? = nil,
                                       encoded: Bool = false, progress: ((Int) -> Void)? = nil) throws -> Int {
        if encoded, size != nil {
            throw CaffeError.usage("--encoded keeps each file's own bytes, so it cannot be combined with resizing")
        }
        if let size {
            // The resized planes are made in floats before they are rounded to bytes.
            let bytes = MemoryBudget.floats(product(3, size.height, size.width)).addingSaturating(product(3, size.height, size.width))
            if let short = MemoryBudget.shortfall(bytes) {
                throw CaffeError.usage("resizing to \(size.height)×\(size.width) needs \(MemoryBudget.describe(bytes)) per image, \(short)")
            }
        }
        let records = try ImageListRecords(listPath: list, rootFolder: rootFolder, color: color, size: size, shuffleSeed: nil)
        var order = Array(records.entries.indices)
        if let seed = shuffleSeed {
            var rng = RandomSource(seed: seed)
            order = rng.permutation(order.count)
        }
        let writer = try LMDBWriter(path: db)
        // Any error below drops the partial database (LMDBWriter.deinit).
        for (n, i) in order.enumerated() {
            let e = records.entries[i]
            let datum: Datum
            if encoded {
                let bytes = try readFile(e.path)
                let image = try RGBImage.decode(bytes, name: e.path)
                datum = Datum(channels: color ? 3 : 1, height: image.height, width: image.width, label: e.label, pixels: bytes, encoded: true)
            } else {
                datum = try records.record(i)
            }
            try writer.put(key: String(format: "%08d_", n) + (e.path.hasPrefix(rootFolder) ? String(e.path.dropFirst(rootFolder.count)) : e.path),
                           value: datum.serialized())
            progress?(n + 1)
        }
        try writer.close()
        return order.count
    }

    /// Any record source (an IDX pair) to an LMDB, keys %08d.
    @discardableResult
    public static func convert(_ source: RecordSource, to db: String) throws -> Int {
        let writer = try LMDBWriter(path: db)
        for i in 0..<source.count {
            try writer.put(key: String(format: "%08d", i), value: try source.record(i).serialized())
        }
        try writer.close()
        return source.count
    }
}
