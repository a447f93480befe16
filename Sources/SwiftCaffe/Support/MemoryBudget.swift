import Foundation

/// The memory SwiftCaffe may take for what a file or a command line asks
/// for, checked before allocating: a shape, a header or a size option that
/// asks for more than the machine has ends in an error saying how much was
/// asked, not in an allocation failure or the kernel's out-of-memory killer.
///
/// The budget is SWIFTCAFFE_MEMORY_LIMIT (bytes, or with a K, M, G or T
/// suffix) when set, else the memory the system had available when first
/// asked (MemAvailable, and the cgroup's limit in a container), plus what
/// SwiftCaffe's blobs held then. Blob storage counts what it holds against it.
public enum MemoryBudget {
    static let variable = "SWIFTCAFFE_MEMORY_LIMIT"
    private static let lock = NSLockLite()
    nonisolated(unsafe) private static var heldBytes = 0

    /// Bytes of blob storage held now.
    public static var held: Int { lock.locked { heldBytes } }

    static func take(_ bytes: Int) { lock.locked { heldBytes += bytes } }
    static func give(_ bytes: Int) { lock.locked { heldBytes -= bytes } }

    /// The whole budget in bytes, and where it comes from.
    public static var limit: (bytes: Int, source: String) { lock.locked { override } ?? machineLimit }

    /// A budget set from within the process (tests that fuzz large shapes).
    nonisolated(unsafe) static var override: (bytes: Int, source: String)?

    private static let machineLimit: (bytes: Int, source: String) = {
        if let text = ProcessInfo.processInfo.environment[variable], let b = parse(text) {
            return (b, "\(variable)=\(text)")
        }
        var available = readKiB("/proc/meminfo", key: "MemAvailable:").map { $0 * 1024 } ?? Int.max
        if let max = readNumber("/sys/fs/cgroup/memory.max"), let current = readNumber("/sys/fs/cgroup/memory.current") {
            available = min(available, Swift.max(0, max - current))
        }
        if available == Int.max { available = Int(ProcessInfo.processInfo.physicalMemory) }
        return (available + held, "the memory available")
    }()

    /// A SWIFTCAFFE_MEMORY_LIMIT that is not a size is an error, not ignored.
    public static func checkSetting() throws {
        if let text = ProcessInfo.processInfo.environment[variable], parse(text) == nil {
            throw CaffeError.usage("\(variable)=\(text) is not a size; give bytes, or a number with K, M, G or T (e.g. 8G)")
        }
    }

    /// Nil when `bytes` more fit in the budget; else the end of a sentence
    /// saying so ("more than the 2.1 GiB of memory available ...").
    public static func shortfall(_ bytes: Int) -> String? {
        let room = max(0, limit.bytes - held)
        guard bytes > room else { return nil }
        if limit.source.hasPrefix(variable) { return "more than the \(describe(room)) left under \(limit.source)" }
        return "more than the \(describe(room)) of memory available (\(variable) sets another limit)"
    }

    /// Bytes for people: 812 bytes, 3.1 MiB, 24.0 GiB, 1024.0 TiB.
    public static func describe(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) bytes" }
        var v = Double(bytes) / 1024
        var u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return String(format: "%.1f %@", v, units[u])
    }

    /// Bytes of `count` floats, saturating (a count from a file can be anything).
    static func floats(_ count: Int) -> Int { count > Int.max / 4 ? Int.max : count * 4 }

    static func parse(_ text: String) -> Int? {
        var t = text.trimmingCharacters(in: .whitespaces).uppercased()
        if t.hasSuffix("IB") { t.removeLast(2) } else if t.hasSuffix("B") { t.removeLast() }
        let scales: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var scale = 1.0
        if let last = t.last, let s = scales[last] {
            scale = s
            t.removeLast()
        }
        guard let v = Double(t), v > 0, v * scale < 9e18 else { return nil }
        return Int(v * scale)
    }

    private static func readNumber(_ path: String) -> Int? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func readKiB(_ path: String, key: String) -> Int? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
        return Int(line.dropFirst(key.count).split(separator: " ").first ?? "")
    }
}
