#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive OS lock (flock) on a folder's lock file, held for the life of the process:
/// the kernel releases it however the process ends (exit, crash, SIGKILL), so a stale
/// lock never outlives its writer. The file holds the holder's PID so a refusal can name it.
public final class FolderLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock on `folder/name` or throws naming the process that holds it.
    /// `purpose` says what the folder is, for the error ("run folder").
    public init(folder: String, name: String = ".lock", purpose: String) throws(FileIOError) {
        path = folder + "/" + name
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIOError(path: path, reason: "cannot open the lock file (\(FileIOError.systemReason))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(fd)
            close(fd)
            let who = holder.map { "process \($0)" } ?? "another process"
            throw FileIOError(
                path: folder,
                reason: "this \(purpose) is in use by \(who) (it holds \(name)); wait for it to end, or stop it, before writing here")
        }
        descriptor = fd
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(descriptor) }

    /// The PID written by the holder (nil when unreadable).
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer.prefix(count).filter { $0 >= 48 && $0 <= 57 }, as: UTF8.self))
    }
}
