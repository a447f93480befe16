/// SHA-1 (FIPS 180-4), only to recognise published weight files by the
/// digests their authors list; not for anything that needs security.
/// A 16-word circular message schedule and one loop per round group keep it
/// fast enough to run beside protobuf-c's decode of a 233 MiB file.
public enum SHA1 {
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let w = UnsafeMutablePointer<UInt32>.allocate(capacity: 16)
        defer { w.deallocate() }

        @inline(__always) func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }

        func block(_ p: UnsafeRawPointer) {
            for i in 0..<16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)) }
            var (a, b, c, d, e) = h
            @inline(__always) func word(_ i: Int) -> UInt32 {
                if i < 16 { return w[i] }
                let x = w[(i &- 3) & 15] ^ w[(i &- 8) & 15] ^ w[(i &- 14) & 15] ^ w[i & 15]
                let v = rotl(x, 1)
                w[i & 15] = v
                return v
            }
            @inline(__always) func step(_ f: UInt32, _ k: UInt32, _ i: Int) {
                let t = rotl(a, 5) &+ f &+ e &+ k &+ word(i)
                e = d
                d = c
                c = rotl(b, 30)
                b = a
                a = t
            }
            for i in 0..<20 { step((b & c) | (~b & d), 0x5A82_7999, i) }
            for i in 20..<40 { step(b ^ c ^ d, 0x6ED9_EBA1, i) }
            for i in 40..<60 { step((b & c) | (b & d) | (c & d), 0x8F1B_BCDC, i) }
            for i in 60..<80 { step(b ^ c ^ d, 0xCA62_C1D6, i) }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }

        let n = bytes.count
        var offset = 0
        if let base = bytes.baseAddress {
            while offset &+ 64 <= n {
                block(base + offset)
                offset &+= 64
            }
        }
        // The tail, a 1 bit, zeros, and the length in bits.
        var tail = [UInt8](bytes[offset..<n])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bits = UInt64(n) * 8
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        tail.withUnsafeBytes { t in
            var o = 0
            while o < t.count {
                block(t.baseAddress! + o)
                o += 64
            }
        }
        return [h.0, h.1, h.2, h.3, h.4].map { v in
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 8 - s.count) + s
        }.joined()
    }
}
