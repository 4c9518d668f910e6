#if canImport(Glibc)
    import Glibc
#endif

/// The cache's file operations, each an error naming the path: folders, the ref written by a
/// rename (never half-written), snapshot links, and the per-blob lock that makes two
/// processes pulling one repository (data-parallel ranks) download each file once.
enum HubFileSystem {
    static func errorText() -> String { String(cString: strerror(errno)) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func makeDirectories(_ path: String) throws(HubError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw HubError("cannot create \(current): \(errorText())") }
        }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    static func rename(_ from: String, to: String) throws(HubError) {
        guard Glibc.rename(from, to) == 0 else { throw HubError("cannot move \(from) to \(to): \(errorText())") }
    }

    /// `text` into `path` by a temporary file and a rename.
    static func writeAtomically(_ text: String, to path: String) throws(HubError) {
        try makeDirectories(parent(path))
        let temporary = path + ".tmp.\(getpid())"
        guard let file = fopen(temporary, "wb") else { throw HubError("cannot write \(temporary): \(errorText())") }
        let bytes = Array(text.utf8)
        let ok = fwrite(bytes, 1, bytes.count, file) == bytes.count && fflush(file) == 0
        fclose(file)
        guard ok else {
            unlink(temporary)
            throw HubError("cannot write \(temporary): \(errorText())")
        }
        try rename(temporary, to: path)
    }

    /// A relative symbolic link at `path` to `target`, replacing one that is there.
    static func link(_ path: String, to target: String) throws(HubError) {
        try makeDirectories(parent(path))
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        if count >= 0, String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { return }
        unlink(path)
        guard symlink(target, path) == 0 else { throw HubError("cannot link \(path) to \(target): \(errorText())") }
    }

    /// An exclusive lock on `path` (created), held until `unlock`; waits for another holder.
    static func lock(_ path: String) throws(HubError) -> Int32 {
        try makeDirectories(parent(path))
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw HubError("cannot open the lock \(path): \(errorText())") }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                throw HubError("cannot lock \(path): \(errorText())")
            }
        }
        return descriptor
    }

    static func unlock(_ descriptor: Int32) {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
