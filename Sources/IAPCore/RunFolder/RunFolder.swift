import FileIO
import JSONFiles

/// `runs/<name>/`: config.yaml, metrics.jsonl, rollouts.jsonl, reference-answers.jsonl,
/// silver-labels.jsonl (SFT), TensorBoard events, checkpoints/step-NNNNNN/, `final`.
/// JSON-lines files are appended one whole line per `write`, so a kill never leaves a
/// corrupt line behind (at most a partial last one, which readers skip and resumption trims).
public struct RunFolder: Sendable {
    public let path: String
    /// Held by the process that writes the folder (one run at a time, see `claim`).
    public private(set) var lock: FolderLock?

    /// The folder as a reader (or a rank other than 0) sees it: no lock.
    public init(path: String) throws(FileIOError) {
        self.path = path
        try FileSystem.makeDirectories(path + "/checkpoints")
    }

    /// The folder for writing: takes its OS lock (`.lock`, released however the process
    /// ends) first, so a second `iap train` into it, or a `--resume` of a live run, is
    /// refused naming the PID that writes it.
    public static func claim(path: String) throws(FileIOError) -> RunFolder {
        var run = try RunFolder(path: path)
        run.lock = try FolderLock(folder: path, purpose: "run folder")
        return run
    }

    public var configPath: String { path + "/config.yaml" }
    public var metricsPath: String { path + "/metrics.jsonl" }
    public var rolloutsPath: String { path + "/rollouts.jsonl" }
    public var referencePath: String { path + "/reference-answers.jsonl" }
    public var labelsPath: String { path + "/silver-labels.jsonl" }
    public var checkpointsPath: String { path + "/checkpoints" }
    public var finalPath: String { path + "/final" }

    public func checkpointPath(step: Int) -> String {
        let digits = String(step)
        return checkpointsPath + "/step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Steps of complete checkpoints (those holding trainer_state.json), ascending.
    public func checkpointSteps() -> [Int] {
        FileSystem.list(checkpointsPath).compactMap { name in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)),
                FileSystem.exists(checkpointsPath + "/" + name + "/" + TrainerState.fileName)
            else { return nil }
            return step
        }.sorted()
    }

    /// Checkpoint folders that lack trainer_state.json (an interrupted save, or damage).
    public func incompleteCheckpoints() -> [String] {
        FileSystem.list(checkpointsPath).filter {
            $0.hasPrefix("step-") && !$0.contains(".") && !FileSystem.exists(checkpointsPath + "/" + $0 + "/" + TrainerState.fileName)
        }
    }

    /// Keeps only the lines of a JSON-lines file whose `step` is at most `step` (resuming
    /// from a checkpoint: what was logged after it is dropped, as is a cut-off last line).
    public static func truncate(_ path: String, afterStep step: Int) throws(FileIOError) {
        try JSONLinesFile.filter(path) { line in
            guard let stamp = try? JSONFile.decode(StepStamp.self, from: line, source: path) else { return false }
            return (stamp.step ?? 0) <= step
        }
    }

    struct StepStamp: Decodable { var step: Int? }
}
