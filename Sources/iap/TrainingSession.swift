import ArgumentParser
import IAP
import LaMPQA
import ModelStore
import SafeTensors
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT: finish the current step, save a checkpoint, stop.
nonisolated(unsafe) var trainingStopRequested: sig_atomic_t = 0

/// The flags `iap train` and `iap sft` share.
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML configuration (configs/demo-cpu.yaml, configs/sft-demo-cpu.yaml, configs/paper-qwen2.5-7b-instruct.yaml).")
    var config: String?

    @Option(help: "Run folder (default runs/<run.name>).")
    var runDir: String?

    @Option(name: .customLong("set"), help: "Override one key: section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Continue the run in this folder from its last checkpoint (SFT: labels already made are kept).")
    var resume: String?

    @Flag(help: "Print the effective configuration (every key, with the file's and --set's values over the defaults) and exit.")
    var printConfig = false

    /// Prints the configuration when asked (true: nothing else to do).
    func printedConfig() throws(ExitCode) -> Bool {
        guard printConfig else { return false }
        print(try TrainingSession.effectiveConfig(config: config, overrides: overrides, resume: resume).yaml, terminator: "")
        return true
    }

    func open() throws(ExitCode) -> (TrainConfig, String, RunFolder) {
        try TrainingSession.open(config: config, runDir: runDir, overrides: overrides, resume: resume)
    }
}

/// What `iap train` and `iap sft` share: reading the config (or the run's own on --resume),
/// the run folder, Ctrl-C handling, the step loop with progress and ETA, checkpoints, and the
/// `final` link.
enum TrainingSession {
    /// The effective config, the run folder's path and the folder (config.yaml written for a new run).
    static func open(config: String?, runDir: String?, overrides: [String], resume: String?) throws(ExitCode) -> (TrainConfig, String, RunFolder) {
        let cfg = try effectiveConfig(config: config, overrides: overrides, resume: resume)
        let folderPath = resume ?? runDir ?? "runs/\(cfg.string("run.name"))"
        let run: RunFolder
        do { run = try RunFolder(path: folderPath) } catch { throw CLI.failure(error) }
        if resume == nil && !run.checkpointSteps().isEmpty {
            throw CLI.failure("\(folderPath) already holds a run: continue it with --resume \(folderPath), or choose another --run-dir")
        }
        if resume == nil {
            do { try AtomicFile.write(cfg.yaml, to: folderPath + "/config.yaml") } catch { throw CLI.failure(error) }
        }
        return (cfg, folderPath, run)
    }

    /// The defaults, then the config file (or the run's own config.yaml when resuming), then
    /// the --set overrides.
    static func effectiveConfig(config: String?, overrides: [String], resume: String?) throws(ExitCode) -> TrainConfig {
        var cfg = TrainConfig()
        do throws(ConfigError) {
            if let resume {
                try cfg.apply(file: resume + "/config.yaml")
            } else if let config {
                try cfg.apply(file: config)
            }
            for o in overrides { try cfg.apply(override: o) }
        } catch {
            throw CLI.failure(error)
        }
        return cfg
    }

    /// Restores the last checkpoint when resuming, prepares, then steps to the end, saving
    /// every `run.checkpoint_every` steps, at the end, and when Ctrl-C asked to stop.
    static func drive(
        _ trainer: CheckpointedTrainer, cfg: TrainConfig, folder: String, run: RunFolder, resuming: Bool, command: String,
        summary: (JSONValue) -> String
    ) async throws {
        if resuming {
            if let last = run.checkpointSteps().last {
                do { try trainer.restore(from: run.checkpointPath(step: last)) } catch { throw CLI.failure("\(error)") }
                CLI.note("resumed \(folder) at step \(last)")
            } else {
                // Stopped before the first checkpoint: start over in the same folder, keeping
                // what is reusable (SFT labels, reference answers), dropping partial steps.
                do {
                    try RunFolder.truncate(run.metricsPath, afterStep: 0)
                    try RunFolder.truncate(run.rolloutsPath, afterStep: 0)
                } catch {
                    throw CLI.failure(error)
                }
                CLI.note("\(folder) has no checkpoint yet: starting at step 0 (labels and reference answers already there are kept)")
            }
        }
        signal(SIGINT) { _ in
            if trainingStopRequested != 0 { _exit(130) }
            trainingStopRequested = 1
            let message: StaticString = "\nstopping after this step (a checkpoint will be saved); Ctrl-C again to quit at once\n"
            _ = Glibc.write(2, message.utf8Start, message.utf8CodeUnitCount)
        }
        do { try await trainer.prepare() } catch let code as ExitCode { throw code } catch { throw CLI.failure("\(error)") }
        if trainingStopRequested != 0 {
            CLI.note("stopped before the first step; continue with: iap \(command) --resume \(folder)")
            return
        }
        let total = trainer.totalSteps
        let clock = ContinuousClock()
        let start = clock.now
        let startStep = trainer.step
        while trainer.step < total {
            let line: JSONValue
            do { line = try await trainer.trainStep() } catch let code as ExitCode { throw code } catch { throw CLI.failure("step \(trainer.step + 1): \(error)") }
            let elapsed = clock.now - start
            let perStep = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) / Double(trainer.step - startStep)
            let eta = Int(perStep * Double(total - trainer.step))
            CLI.note("step \(trainer.step)/\(total)  \(summary(line))  \(Int(perStep))s/step  ETA \(eta)s")
            let every = max(1, cfg.int("run.checkpoint_every"))
            let stopping = trainingStopRequested != 0
            if trainer.step % every == 0 || trainer.step == total || stopping {
                do { try trainer.saveCheckpoint() } catch { throw CLI.failure("saving a checkpoint: \(error)") }
            }
            if stopping {
                CLI.note("stopped at step \(trainer.step); continue with: iap \(command) --resume \(folder)")
                return
            }
        }
        // runs/<name>/final points at the last checkpoint.
        if trainer.step > 0 && run.checkpointSteps().last != trainer.step {
            do { try trainer.saveCheckpoint() } catch { throw CLI.failure("saving a checkpoint: \(error)") }
        }
        unlink(folder + "/final")
        symlink("checkpoints/" + (run.checkpointPath(step: trainer.step).split(separator: "/").last.map(String.init) ?? ""), folder + "/final")
        print("run folder: \(folder)")
        print("final checkpoint: \(run.checkpointPath(step: trainer.step)) (also \(folder)/final)")
    }

    /// The rubric judge of `judge.*` and the shared verdict cache.
    static func judge(_ cfg: TrainConfig) throws -> (RubricJudge, JudgeCache) {
        let judge = try JudgeFactory.make(JudgeFactory.Options(
            backend: cfg.string("judge.backend"), model: cfg.optionalString("judge.model"), urls: cfg.list("judge.urls"),
            apiKeyVariable: cfg.optionalString("judge.api_key_env"), concurrency: cfg.int("judge.concurrency"), timeout: 120,
            maxTokens: cfg.int("judge.max_tokens"), promptFile: cfg.optionalString("judge.prompt_file")))
        do { try FileSystem.makeDirectories(ModelStore.defaultCacheRoot + "/judge") } catch { throw CLI.failure(error) }
        do { return (judge, try JudgeCache(path: ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl")) } catch { throw CLI.failure(error) }
    }

    /// The training questions of `data.*`.
    static func records(_ cfg: TrainConfig) throws(ExitCode) -> [LaMPQARecord] {
        guard let split = LaMPQASplit(rawValue: cfg.string("data.split")) else { throw CLI.failure("data.split: train, validation or test") }
        var options = LaMPQADataset.Options()
        options.split = split
        options.limit = cfg.optionalInt("data.limit")
        options.domains = try cfg.list("data.domains").map { (name) throws(ExitCode) -> LaMPQADomain in
            guard let d = LaMPQADomain(name: name) else { throw CLI.failure("data.domains: unknown domain \(name)") }
            return d
        }
        do { return try LaMPQADataset(folder: cfg.string("data.folder"), options: options).records } catch { throw CLI.failure(error) }
    }

    /// What the policy is shown (`data.input`); `ranker` orders profile posts for profile:K.
    static func input(_ cfg: TrainConfig, ranker: @escaping @Sendable (String, [String]) throws -> [Int]) throws(ExitCode) -> PolicyInputBuilder {
        guard let mode = PolicyInputMode(name: cfg.string("data.input")) else {
            throw CLI.failure("data.input: question, narrative, profile:K or narrative+profile:K")
        }
        return PolicyInputBuilder(mode: mode, rank: ranker)
    }

    static func value(_ line: JSONValue, _ key: String) -> String { line[key]?.doubleValue.map { formatScore($0) } ?? "-" }
}
