#if canImport(Glibc)
    import Glibc
#endif

/// An append-only file of one record per line (metrics, rollouts, judge verdicts, labels).
///
/// Each line is appended with a single `write` call, so a kill at any moment leaves at most
/// a partial last line, which readers skip (and a resumed run trims). A short write is an
/// error naming the file: records are never lost quietly.
public enum JSONLinesFile {
    /// Appends `line` and a newline.
    public static func append(line: String, to path: String) throws(FileIOError) {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw FileIOError(path: path, reason: "cannot open for appending (\(FileIOError.systemReason))") }
        defer { close(fd) }
        // A partial last line (a killed writer) would glue onto this one: start a new line.
        var info = stat()
        var last: UInt8 = 0x0A
        if fstat(fd, &info) == 0 && info.st_size > 0 { _ = pread(fd, &last, 1, info.st_size - 1) }
        let bytes = Array(((last == 0x0A ? "" : "\n") + line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw FileIOError(path: path, reason: "short write: \(max(0, written)) of \(bytes.count) bytes (\(FileIOError.systemReason))")
        }
    }

    /// The non-blank lines with their 1-based line numbers (a missing file has none).
    public static func lines(_ path: String) throws(FileIOError) -> [(number: Int, text: Substring)] {
        guard FileSystem.exists(path) else { return [] }
        let text = try AtomicFile.readText(path)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { !$0.element.allSatisfy(\.isWhitespace) }.map { ($0.offset + 1, $0.element) }
    }

    /// Rewrites the file with only the lines `keep` accepts (atomically).
    public static func filter(_ path: String, keep: (Substring) -> Bool) throws(FileIOError) {
        guard FileSystem.exists(path) else { return }
        let kept = try lines(path).map(\.text).filter(keep)
        try AtomicFile.write(kept.map { $0 + "\n" }.joined(), to: path)
    }
}
