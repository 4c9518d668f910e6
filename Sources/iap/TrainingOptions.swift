import ArgumentParser
import CommandSupport
import IAP
import IAPCore
import Torch

#if canImport(Glibc)
    import Glibc
#endif

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

    func validate() throws {
        if let n = nprocPerNode, !(1...1024).contains(n) { throw ValidationError("--nproc-per-node: 1 to 1024 ranks, got \(n)") }
    }

    /// What the flags ask `trainer` to run.
    func request(_ trainer: TrainerKind) -> TrainingRequest {
        var request = TrainingRequest(trainer: trainer)
        request.configFile = config
        request.runDir = runDir
        request.overrides = overrides
        request.resume = resume
        return request
    }

    /// Either does what the command line asks before any training — prints the configuration,
    /// or starts `--nproc-per-node` ranks and waits for them — and returns nil, or opens this
    /// process's part of the job.
    func startJob(_ trainer: TrainerKind) throws(ExitCode) -> TrainingJob? {
        let request = request(trainer)
        if printConfig {
            print(ConfigLoader.yaml(try effectiveConfig(request)), terminator: "")
            return nil
        }
        if let n = nprocPerNode, n > 1, getenv("WORLD_SIZE") == nil {
            try launchRanks(n, config: try effectiveConfig(request))  // a wrong config is reported once, before any rank starts
            return nil
        }
        if !verbose { Torch.quietCppDiagnostics() }
        do { return try TrainingJob.open(request, environment: CLI.environment) } catch { throw CLI.failure(error) }
    }

    func effectiveConfig(_ request: TrainingRequest) throws(ExitCode) -> TrainConfig {
        do { return try request.effectiveConfig() } catch { throw CLI.failure(error) }
    }

    /// Starts `n` ranks of this command on this machine and waits for them.
    func launchRanks(_ n: Int, config cfg: TrainConfig) throws(ExitCode) {
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
    }
}
