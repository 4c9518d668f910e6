import FileIO
import JSONFiles

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
    /// One line of the cache file.
    struct Verdict: Codable {
        var k: String
        var s: Int
    }

    public nonisolated let path: String
    private var entries: [String: Int] = [:]
    public private(set) var skippedLines = 0

    public init(path: String) throws(JudgeConfigurationError) {
        self.path = path
        let contents: JSONLines.Contents<Verdict>
        do { contents = try JSONLines.read(Verdict.self, from: path) } catch { throw JudgeConfigurationError("judge cache \(error)") }
        for verdict in contents.records {
            if (0...2).contains(verdict.s) { entries[verdict.k] = verdict.s } else { skippedLines += 1 }
        }
        skippedLines += contents.skipped.count
        // Fail now, not at the first verdict, when the file cannot be written.
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw JudgeConfigurationError("judge cache \(path): cannot open for writing (\(FileIOError.systemReason))") }
        close(fd)
    }

    public var count: Int { entries.count }

    public func lookup(_ key: String) -> Int? { entries[key] }

    /// Appends the verdict (one line, one write); a verdict that cannot be written is still
    /// used in this run and asked again in the next.
    public func store(_ key: String, score: Int) {
        guard entries[key] != score else { return }
        entries[key] = score
        try? JSONLines.append(Verdict(k: key, s: score), to: path)
    }

    /// The key of one verdict.
    public static func key(judge: RubricJudge, item: JudgeItem) -> String {
        stableHash(
            [
                judge.identity, judge.promptVersion, item.questionId, item.aspect.aspect, item.aspect.reason, item.aspect.evidence,
                stableHash(item.response),
            ].joined(separator: "\u{1F}"))
    }
}
