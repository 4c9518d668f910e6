import SafeTensors

#if canImport(Glibc)
    import Glibc
#endif

/// `runs/<name>/`: config.yaml, metrics.jsonl, rollouts.jsonl, reference-answers.jsonl,
/// TensorBoard events, checkpoints/step-NNNNNN/. JSON-lines files are appended one whole
/// line per `write`, so a kill never leaves a corrupt line behind (at most a partial last
/// one, which readers skip and resumption trims).
public struct RunFolder: Sendable {
    public let path: String

    public init(path: String) throws(ConfigError) {
        self.path = path
        do { try FileSystem.makeDirectories(path + "/checkpoints") } catch { throw ConfigError("\(error)") }
    }

    public var metricsPath: String { path + "/metrics.jsonl" }
    public var rolloutsPath: String { path + "/rollouts.jsonl" }
    public var referencePath: String { path + "/reference-answers.jsonl" }
    public var checkpointsPath: String { path + "/checkpoints" }

    public func checkpointPath(step: Int) -> String {
        let digits = String(step)
        return checkpointsPath + "/step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Steps of complete checkpoints (those holding trainer_state.json), ascending.
    public func checkpointSteps() -> [Int] {
        guard let dir = opendir(checkpointsPath) else { return [] }
        defer { closedir(dir) }
        var steps: [Int] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)),
                access(checkpointsPath + "/" + name + "/trainer_state.json", F_OK) == 0
            else { continue }
            steps.append(step)
        }
        return steps.sorted()
    }

    /// Appends one line; an unwritable file is an error naming it (metrics are never lost quietly).
    public static func appendLine(_ value: JSONValue, to path: String) throws(SafeTensorsError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(path: path, reason: "cannot open for appending (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let bytes = Array((value.serialized + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw SafeTensorsError(path: path, reason: "short write (\(String(cString: strerror(errno))))") }
    }

    /// Parsed lines of a JSON-lines file (unparsable lines, e.g. a cut-off last one, skipped).
    public static func readLines(_ path: String) -> [JSONValue] {
        guard let bytes = try? AtomicFile.read(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
    }

    /// Keeps only lines whose `step` is at most `step` (resuming from a checkpoint).
    public static func truncate(_ path: String, afterStep step: Int) throws(SafeTensorsError) {
        guard access(path, F_OK) == 0 else { return }
        let kept = readLines(path).filter { ($0["step"]?.intValue ?? 0) <= step }
        try AtomicFile.write(kept.map { $0.serialized + "\n" }.joined(), to: path)
    }
}
