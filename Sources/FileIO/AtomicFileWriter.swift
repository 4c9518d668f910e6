#if canImport(Glibc)
    import Glibc
#endif

/// A file written piece by piece that appears whole or not at all: the pieces go to a
/// temporary file beside `path`; `commit()` flushes it to disk and renames it over `path`.
/// A writer released without `commit()` (an error, a throw on the way) removes its
/// temporary file, so a failed write never leaves a partial file behind.
public final class AtomicFileWriter {
    public let path: String
    private let temporary: String
    private var fd: Int32
    private var finished = false

    /// Opens the temporary file; missing parent folders are created.
    public init(path: String) throws(FileIOError) {
        self.path = path
        temporary = path + ".tmp-\(getpid())"
        var descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor < 0 && errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            // Output paths may name folders that do not exist yet (runs/x/answers/iap.json).
            try FileSystem.makeDirectories(String(path[..<slash]))
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        guard descriptor >= 0 else { throw FileIOError(path: path, reason: "cannot create \(temporary) (\(FileIOError.systemReason))") }
        fd = descriptor
    }

    deinit { abandon() }

    /// Appends bytes (retrying interrupted and partial writes).
    public func write(_ chunk: UnsafeRawBufferPointer) throws(FileIOError) {
        var done = 0
        while done < chunk.count {
            let n = Glibc.write(fd, chunk.baseAddress! + done, chunk.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = FileIOError.systemReason
                abandon()
                throw FileIOError(path: path, reason: "write failed (\(reason))")
            }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws(FileIOError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(FileIOError) in try write(raw) } }.get()
    }

    /// Flushes to disk and renames into place.
    public func commit() throws(FileIOError) {
        guard !finished else { throw FileIOError(path: path, reason: "already committed or abandoned") }
        guard fsync(fd) == 0 else {
            let reason = FileIOError.systemReason
            abandon()
            throw FileIOError(path: path, reason: "fsync failed (\(reason))")
        }
        close(fd)
        finished = true
        guard rename(temporary, path) == 0 else {
            let reason = FileIOError.systemReason
            unlink(temporary)
            throw FileIOError(path: path, reason: "cannot rename into place (\(reason))")
        }
    }

    /// Drops what was written (the target is untouched).
    public func abandon() {
        guard !finished else { return }
        finished = true
        close(fd)
        unlink(temporary)
    }
}

extension FileIOError {
    /// The C library's text for the current `errno`.
    public static var systemReason: String { String(cString: strerror(errno)) }
}
