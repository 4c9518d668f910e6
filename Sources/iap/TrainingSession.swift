import Foundation
import ArgumentParser
import CommandSupport
import IAP
import LaMPQA
import ModelStore
import SafeTensors
import Torch
import FileIO
import LaMPQACore
import IAPCore
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT: finish the current step, save a checkpoint, stop.
nonisolated(unsafe) var trainingStopRequested: sig_atomic_t = 0

/// The flags `iap train` and `iap sft` share.
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML configuration (configs/demo-cpu.yaml, configs/sft-demo-cpu.yaml, configs/paper/qwen2.5-7b-instruct.yaml).")
    var config: String?

    @Option(help: "Run folder (default runs/<run.name>).")
    var runDir: String?

    @Option(name: .customLong("set"), help: "Override one key: section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Continue the run in this folder from its last checkpoint (SFT: labels already made are kept).")
    var resume: String?

    @Flag(help: "Print the effective configuration (every key, with the file's and --set's values over the defaults) and exit.")
    var printConfig = false

    @Option(
        help:
            "Start this many ranks on this machine (data-parallel over Gloo, dist.*); under torchrun or srun leave it out: the launcher's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK) say which rank this is."
    )
    var nprocPerNode: Int?

    @Flag(help: "Allow --nproc-per-node above this machine's cores (CPU) or GPUs (CUDA).")
    var oversubscribe = false

    @Flag(
        help:
            "Let libtorch print its own warnings and C++ stack frames (a failed rendezvous's retries, for one); without it a failure is one line."
    )
    var verbose = false

    @Flag(help: "Start even when iap plan's estimate says the config cannot fit in this GPU's (or machine's) memory.")
    var noMemoryCheck = false

    /// Prints the configuration when asked (true: nothing else to do).
    func printedConfig() throws(ExitCode) -> Bool {
        guard printConfig else { return false }
        print(ConfigLoader.yaml(try TrainingSession.effectiveConfig(config: config, overrides: overrides, resume: resume)), terminator: "")
        return true
    }

    func open() throws(ExitCode) -> (TrainConfig, String, RunFolder) {
        try TrainingSession.open(config: config, runDir: runDir, overrides: overrides, resume: resume)
    }

    /// `--nproc-per-node` when given, checked: 1 to 1024.
    func checkedRankCount() throws(ExitCode) -> Int? {
        guard let n = nprocPerNode else { return nil }
        guard n >= 1 && n <= 1024 else { throw CLI.failure("--nproc-per-node: 1 to 1024 ranks, got \(n)") }
        return n
    }

    /// With `--nproc-per-node N` (N > 1, not already a rank): starts the N ranks, waits for
    /// them and returns true (the caller exits with their status).
    func launchedRanks() throws(ExitCode) -> Bool {
        guard let n = try checkedRankCount(), n > 1, getenv("WORLD_SIZE") == nil else { return false }
        // A wrong config or --set is reported once, before any rank starts.
        let cfg = try TrainingSession.effectiveConfig(config: config, overrides: overrides, resume: resume)
        let cuda = cfg.policy.device.hasPrefix("cuda")
        let limit = RankLauncher.rankLimit(cuda: cuda)
        // Without any GPU the ranks' own check names what is wrong (policy.device, nccl).
        guard n <= limit || oversubscribe || (cuda && limit == 0) else {
            throw CLI.failure(
                "--nproc-per-node \(n): this machine has \(limit) \(cuda ? "GPU(s)" : "core(s)") for policy.device \(cfg.policy.device); "
                    + "each rank loads its own models, so more ranks than that only compete for them (add --oversubscribe to start them anyway)"
            )
        }
        let outcome: RankLauncher.Outcome
        do {
            outcome = try RankLauncher.run(ranks: n, arguments: RankLauncher.rankArguments(Array(CommandLine.arguments.dropFirst())))
        } catch {
            throw CLI.failure("\(error)")
        }
        if let failure = outcome.failure { CLI.note("launcher: \(failure); the other ranks were stopped") }
        if outcome.status != 0 { throw ExitCode(outcome.status) }
        return true
    }

    /// The effective config, the run folder, and this process's place in the job: rank 0
    /// (or the only process) opens the folder (writing config.yaml for a new run) before
    /// joining, the others join and then open the folder rank 0 made.
    func openJob() throws(ExitCode) -> (TrainConfig, String, RunFolder, DataParallel) {
        if !verbose { Torch.quietCppDiagnostics() }
        let job: Rendezvous?
        do { job = try Rendezvous.fromEnvironment(CLI.environment) } catch { throw CLI.failure("\(error)") }
        // One process alone runs without a group, unless it is a job of one rank over NCCL.
        var alone = true
        if let job {
            alone = job.worldSize == 1
            if alone {
                alone = try TrainingSession.effectiveConfig(config: config, overrides: overrides, resume: resume).dist.backend != .nccl
            }
        }
        guard let job, !alone else {
            let (cfg, folder, run) = try open()
            return (cfg, folder, run, .single)
        }
        var opened: (TrainConfig, String, RunFolder)?
        if job.rank == 0 { opened = try open() }
        var cfg: TrainConfig
        if let opened {
            cfg = opened.0
        } else {
            cfg = try TrainingSession.effectiveConfig(config: config, overrides: overrides, resume: resume)
        }
        // One GPU per rank on a node: `cuda` means this rank's (torchrun's LOCAL_RANK).
        if cfg.policy.device == "cuda" { cfg.policy.device = "cuda:\(job.localRank)" }
        let group = try TrainingSession.processGroup(job, cfg: cfg)
        let parallel = DataParallel(
            group: group, strategy: cfg.dist.strategy, bucketMiB: cfg.dist.bucketMiB, overlapsBackward: cfg.dist.overlapBackward)
        if let opened { return (cfg, opened.1, opened.2, parallel) }
        let folder = resume ?? runDir ?? "runs/\(cfg.run.name)"
        do { return (cfg, folder, try RunFolder(path: folder), parallel) } catch { throw CLI.failure("\(error)") }
    }
}

/// What `iap train` and `iap sft` share: reading the config (or the run's own on --resume),
/// the run folder, Ctrl-C handling, the step loop with progress and ETA, checkpoints, and the
/// `final` link.
enum TrainingSession {
    /// The effective config, the run folder's path and the folder (config.yaml written for a new run).
    static func open(config: String?, runDir: String?, overrides: [String], resume: String?) throws(ExitCode) -> (
        TrainConfig, String, RunFolder
    ) {
        let cfg = try effectiveConfig(config: config, overrides: overrides, resume: resume)
        let folderPath = resume ?? runDir ?? "runs/\(cfg.run.name)"
        do {
            let run =
                try resume.map { (path) throws(FileIOError) in try RunFolder.claim(path: path) }
                ?? TrainingRun.start(config: cfg, folder: folderPath)
            return (cfg, folderPath, run)
        } catch {
            throw CLI.failure("\(error)")
        }
    }

    /// The defaults, then the config file (or the run's own config.yaml when resuming), then
    /// the --set overrides.
    /// This rank's process group: Gloo, or NCCL on the rank's CUDA device through the plugin.
    static func processGroup(_ job: Rendezvous, cfg: TrainConfig) throws(ExitCode) -> ProcessGroup {
        do {
            switch cfg.dist.backend {
            case .gloo:
                return try ProcessGroup(gloo: job, timeoutSeconds: cfg.dist.timeoutS)
            case .nccl:
                guard let device = Device(cfg.policy.device), case .cuda = device else {
                    throw CLI.failure("dist.backend: nccl needs policy.device cuda[:N], got \(cfg.policy.device)")
                }
                if let problem = CUDARuntime.load() { throw CLI.failure("dist.backend: nccl: \(problem)") }
                return try ProcessGroup(nccl: job, device: device, plugin: ncclPlugin(), timeoutSeconds: cfg.dist.timeoutS)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CLI.failure("\(error)")
        }
    }

    /// $IAP_NCCL_PLUGIN, else libiap_nccl.so beside this executable.
    static func ncclPlugin() -> String { GPUBundle.library("libiap_nccl.so", variable: "IAP_NCCL_PLUGIN") }

    /// The tensor engine as a training run wants it: freed buffers kept for reuse, the global
    /// generators seeded by `run.seed`, deterministic algorithms when `run.deterministic`.
    static func prepareEngine(_ cfg: TrainConfig) throws(ExitCode) {
        Torch.keepFreedMemory()
        Torch.manualSeed(UInt64(cfg.run.seed))
        do { try Torch.setDeterministic(cfg.run.deterministic) } catch { throw CLI.failure("run.deterministic: \(error)") }
    }

    /// `policy.device: auto` is resolved here (a GPU when one can be used), and the config
    /// checked again with the device it resolved to.
    static func effectiveConfig(config: String?, overrides: [String], resume: String?) throws(ExitCode) -> TrainConfig {
        do throws(ConfigError) {
            var cfg = try ConfigLoader.load(file: resume.map { $0 + "/config.yaml" } ?? config, overrides: overrides)
            if cfg.policy.device == "auto" {
                cfg.policy.resolveDevice(cudaAvailable: Device.cudaAvailable)
                try cfg.validate()
            }
            return cfg
        } catch {
            throw CLI.failure(error)
        }
    }

    /// Runs the trainer to the end (or until Ctrl-C, which saves a checkpoint first),
    /// printing progress; `summary` picks the figures shown per step.
    static func drive(
        _ trainer: CheckpointedTrainer, cfg: TrainConfig, folder: String, run: RunFolder, resuming: Bool, command: String,
        summary: @escaping (MetricsLine) -> String
    ) async throws {
        signal(SIGINT) { _ in
            if trainingStopRequested != 0 { _exit(130) }
            trainingStopRequested = 1
            let message: StaticString = "\nstopping after this step (a checkpoint will be saved); Ctrl-C again to quit at once\n"
            _ = Glibc.write(2, message.utf8Start, message.utf8CodeUnitCount)
        }
        var driver = TrainingRun(trainer: trainer, config: cfg, run: run)
        driver.shouldStop = { trainingStopRequested != 0 || RankLauncher.launcherIsGone }
        let parallel = trainer.dataParallel
        driver.report = { event in
            guard parallel.isMain else { return }  // one progress report per job
            switch event {
            case .resumed(let step): CLI.note("resumed \(folder) at step \(step)")
            case .startedOver:
                CLI.note("\(folder) has no checkpoint yet: starting at step 0 (labels and reference answers already there are kept)")
            case .stepped(let line, let perStep, let left):
                CLI.note("step \(line.step)/\(trainer.totalSteps)  \(summary(line))  \(Int(perStep))s/step  ETA \(Int(left))s")
            case .stoppedEarly(let step):
                let resume = "continue with: iap \(command) --resume \(ShellQuoting.quoted(folder))"
                CLI.note(step == 0 ? "stopped before the first step; \(resume)" : "stopped at step \(step); \(resume)")
            case .cleanedUp(let what): CLI.note(what)
            case .finished(let checkpoint):
                print("run folder: \(folder)")
                print("final checkpoint: \(checkpoint) (also \(folder)/final)")
            }
        }
        do { try await driver.drive(resuming: resuming) } catch let code as ExitCode { throw code } catch {
            // A broken collective already names the rank, the step and the ranks gone.
            let rank = parallel.worldSize > 1 && !(error is CollectiveFailure) ? "rank \(parallel.rank) of \(parallel.worldSize), " : ""
            throw CLI.failure(rank + "\(error)")
        }
        // Stopped by Ctrl-C (after saving): not a finished run, so `iap train && …` stops too.
        if trainingStopRequested != 0 { throw ExitCode(130) }
    }

    /// The rubric judge of `judge.*` and the shared verdict cache.
    static func judge(_ cfg: TrainConfig) throws -> (RubricJudge, JudgeCache) {
        let judge = try JudgeFactory.make(
            JudgeFactory.Options(
                backend: cfg.judge.backend.rawValue, model: cfg.judge.model, adapter: cfg.judge.adapter, urls: cfg.judge.urls,
                apiKeyVariable: cfg.judge.apiKeyEnv, concurrency: cfg.judge.concurrency, timeout: 120,
                maxTokens: cfg.judge.maxTokens, promptFile: cfg.judge.promptFile))
        do { try FileSystem.makeDirectories(ModelStore.defaultCacheRoot + "/judge") } catch { throw CLI.failure(error) }
        do { return (judge, try JudgeCache(path: ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl")) } catch {
            throw CLI.failure(error)
        }
    }

    /// The training questions of `data.*`.
    static func records(_ cfg: TrainConfig) throws(ExitCode) -> [LaMPQARecord] {
        var options = LaMPQADataset.Options()
        options.split = cfg.data.split
        options.limit = cfg.data.limit
        options.domains = cfg.data.domains
        do { return try LaMPQADataset(folder: cfg.data.folder, options: options).records } catch { throw CLI.failure(error) }
    }

    /// What the policy is shown (`data.input`); `ranker` orders profile posts for profile:K.
    static func input(_ cfg: TrainConfig, ranker: @escaping @Sendable (String, [String]) throws -> [Int]) -> PolicyInputBuilder {
        PolicyInputBuilder(mode: cfg.data.input, rank: ranker)
    }

    static func value(_ line: MetricsLine, _ key: String) -> String { line[key].map { formatScore($0) } ?? "-" }
}
