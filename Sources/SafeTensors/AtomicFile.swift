#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file writes that never leave a half-written file: the bytes go to a temporary file
/// beside the target, are flushed to disk, and the temporary file is renamed over the target.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(SafeTensorsError) {
        let temporary = path + ".tmp-\(getpid())"
        func fail(_ what: String) -> SafeTensorsError {
            SafeTensorsError(path: path, reason: "\(what) (\(String(cString: strerror(errno))))")
        }
        var fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 && errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            // Output paths may name folders that do not exist yet (runs/x/answers/iap.json).
            try FileSystem.makeDirectories(String(path[..<slash]))
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        guard fd >= 0 else { throw fail("cannot create \(temporary)") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                throw fail("write failed")
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            close(fd)
            unlink(temporary)
            throw fail("fsync failed")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw fail("cannot rename into place")
        }
    }

    public static func write(_ text: String, to path: String) throws(SafeTensorsError) {
        try write(Array(text.utf8), to: path)
    }

    /// The whole file, or an error naming it.
    public static func read(_ path: String) throws(SafeTensorsError) -> [UInt8] {
        let file = try MappedFile(path: path)
        return Array(file.bytes)
    }
}
