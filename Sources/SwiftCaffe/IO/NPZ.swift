import Foundation

/// NumPy .npz archives: a zip of .npy files, stored uncompressed. Written
/// through OutputFile, so a failure leaves no half archive.
public enum NPZ {
    public static func write(_ arrays: [(name: String, array: NPY.Array)], to path: String) throws {
        let out = try OutputFile(path)
        var central = [UInt8]()
        var offset = 0
        for (name, array) in arrays {
            let data = NPY.encode(array)
            let file = Array((name + ".npy").utf8)
            let crc = crc32(data)
            guard offset + data.count < 0xFFFF_FFFF else {
                out.abandon()
                throw CaffeError.io(path: path, reason: "over 4 GiB: too large for a zip without zip64")
            }
            var local = [UInt8]()
            local += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            local += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(UInt16(file.count)) + le16(0) + file
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            central += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(UInt16(file.count))
            central += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(offset)) + file
            try out.write(local)
            try out.write(data)
            offset += local.count + data.count
        }
        var end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(arrays.count)) + le16(UInt16(arrays.count))
        end += le32(UInt32(central.count)) + le32(UInt32(offset)) + le16(0)
        try out.write(central + end)
        try out.commit()
    }

    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
