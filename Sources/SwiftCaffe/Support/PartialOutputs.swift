import Foundation

/// Outputs being written that are not whole yet: OutputFile's temporary
/// files and the folders of new LMDB databases. A command stopped by a
/// signal removes them (`removeAll`) before it exits, so an interrupted run
/// leaves nothing half-written behind.
public enum PartialOutputs {
    private static let lock = NSLockLite()
    nonisolated(unsafe) private static var paths: [String: Bool] = [:]  // path → is a folder

    static func register(file path: String) { lock.locked { paths[path] = false } }
    static func register(folder path: String) { lock.locked { paths[path] = true } }
    static func unregister(_ path: String) { _ = lock.locked { paths.removeValue(forKey: path) } }

    /// Removes one partial output and forgets it.
    static func remove(_ path: String) {
        guard let folder = lock.locked({ paths.removeValue(forKey: path) }) else { return }
        if folder { try? FileManager.default.removeItem(atPath: path) } else { unlink(path) }
    }

    /// Removes every partial output (on a signal, before exiting).
    public static func removeAll() {
        for path in lock.locked({ Array(paths.keys) }) { remove(path) }
    }
}
