#if canImport(Glibc)
    import Glibc
#endif

/// A whole file mapped read-only into memory; unmapped when released.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The file's bytes, valid while this object lives. Swift may release an object right
    /// after its last use, before a pointer taken from it is done with: use `withBytes`, or
    /// keep the owner alive with `withExtendedLifetime`.
    public let bytes: UnsafeRawBufferPointer

    /// Runs `body` with the bytes, the mapping kept until it returns.
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(self) {} }
        return try body(bytes)
    }

    /// Maps a regular file; `reason` texts name what failed.
    public init(path: String) throws(FileIOError) {
        self.path = path
        func fail(_ reason: String) -> FileIOError { FileIOError(path: path, reason: reason) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail("cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("cannot stat (\(String(cString: strerror(errno))))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw fail("cannot map into memory (\(String(cString: strerror(errno))))")
        }
        bytes = UnsafeRawBufferPointer(start: mapping, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
