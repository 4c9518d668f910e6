import SafeTensors
import FileIO

#if canImport(Glibc)
    import Glibc
#endif

/// Judge verdicts kept on disk, so a rerun of a finished evaluation makes no judge calls
/// and an interrupted one resumes where it stopped.
///
/// The file is append-only JSON lines (`{"k": key, "s": score}`), each written with one
/// `write` call: a kill at any moment leaves at most a partial last line, which loading
/// skips. Keys hash (judge identity, prompt version, question id, aspect, response), so a
/// different judge, prompt or answer never reuses a verdict. Only real scores are stored;
/// failures are asked again next time.
public actor JudgeCache {
    public nonisolated let path: String
    private var entries: [String: Int] = [:]
    private var fd: Int32 = -1
    public private(set) var skippedLines = 0

    public init(path: String) throws(JudgeConfigurationError) {
        self.path = path
        var bytes: [UInt8] = []
        if access(path, F_OK) == 0 {
            do { bytes = try AtomicFile.read(path) } catch { throw JudgeConfigurationError("judge cache \(path): \(error.reason)") }
            var start = 0
            var skipped = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                let line = Array(bytes[start..<end])
                if !line.isEmpty {
                    if let value = try? line.withUnsafeBytes({ try JSONValue.parse($0) }), let key = value["k"]?.stringValue,
                        let score = value["s"]?.intValue, (0...2).contains(score)
                    {
                        entries[key] = score
                    } else {
                        skipped += 1
                    }
                }
                start = end + 1
            }
            skippedLines = skipped
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else {
            throw JudgeConfigurationError("judge cache \(path): cannot open for writing (\(String(cString: strerror(errno))))")
        }
        // A partial last line from a killed run would glue onto the next record: start on a new line.
        if let last = bytes.last, last != 0x0A {
            _ = "\n".withCString { write(descriptor, $0, 1) }
        }
        fd = descriptor
    }

    deinit { if fd >= 0 { close(fd) } }

    public var count: Int { entries.count }

    public func lookup(_ key: String) -> Int? { entries[key] }

    public func store(_ key: String, score: Int) {
        guard entries[key] != score else { return }
        entries[key] = score
        let line = Array((JSONValue.object([("k", .string(key)), ("s", .int(score))]).serialized + "\n").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The key of one verdict.
    public static func key(judge: RubricJudge, item: JudgeItem) -> String {
        stableHash(
            [judge.identity, judge.promptVersion, item.questionId, item.aspect.aspect, item.aspect.reason, item.aspect.evidence,
             stableHash(item.response)].joined(separator: "\u{1F}"))
    }
}
