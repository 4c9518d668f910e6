import FileIO
import IAPCore
import LaMPQACore
import Torch

/// Where a training run's settings come from: `iap train` and `iap sft`'s --config, --run-dir,
/// --set and --resume, and which trainer reads them.
public struct TrainingRequest: Sendable {
    public var trainer: TrainerKind
    /// A YAML configuration (ignored when resuming: the run's own config.yaml is read).
    public var configFile: String?
    /// The run folder (default `runs/<run.name>`).
    public var runDir: String?
    /// `section.key=value` overrides, applied in order over the file.
    public var overrides: [String] = []
    /// A run folder to continue from its last checkpoint.
    public var resume: String?

    public init(trainer: TrainerKind) { self.trainer = trainer }

    /// The defaults, then the config file (or the run's own config.yaml when resuming), then
    /// the overrides; `policy.device: auto` resolved (a GPU when one can be used) and the
    /// whole checked for the trainer with the device it resolved to.
    public func effectiveConfig() throws(ConfigError) -> TrainConfig {
        var cfg = try ConfigLoader.load(file: resume.map { $0 + "/config.yaml" } ?? configFile, overrides: overrides)
        if cfg.policy.device == "auto" { cfg.policy.resolveDevice(cudaAvailable: Device.cudaAvailable) }
        try cfg.validate(for: trainer)
        return cfg
    }

    /// The run folder's path for `cfg`.
    public func folderPath(_ cfg: TrainConfig) -> String { resume ?? runDir ?? "runs/\(cfg.run.name)" }
}

/// A training job that cannot start; the text names the flag, key, file or rank.
public struct TrainingJobError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// This process's part of a training run: the effective configuration, the run folder, and
/// its place among the ranks (alone, or in a process group over Gloo or NCCL). The trainers
/// are assembled from it (`makeIAPTrainer`, `makeSFTTrainer`).
public struct TrainingJob {
    public let request: TrainingRequest
    public let config: TrainConfig
    public let folderPath: String
    public let run: RunFolder
    public let parallel: DataParallel

    public var resuming: Bool { request.resume != nil }

    /// Opens the run. Rank 0 (or the only process) opens the folder — writing config.yaml
    /// for a new run — before joining; the other ranks join, then open the folder rank 0 made.
    /// `environment` says which rank this is (torchrun's RANK, WORLD_SIZE, MASTER_ADDR, …).
    public static func open(_ request: TrainingRequest, environment: [String: String]) throws(TrainingJobError) -> TrainingJob {
        let rendezvous: Rendezvous?
        do { rendezvous = try Rendezvous.fromEnvironment(environment) } catch { throw TrainingJobError("\(error)") }
        var cfg = try config(request)
        // One process alone runs without a group, unless it is a job of one rank over NCCL.
        guard let rendezvous, rendezvous.worldSize > 1 || cfg.dist.backend == .nccl else {
            return TrainingJob(
                request: request, config: cfg, folderPath: request.folderPath(cfg), run: try folder(request, cfg), parallel: .single)
        }
        let run = rendezvous.rank == 0 ? try folder(request, cfg) : nil
        // One GPU per rank on a node: `cuda` means this rank's (torchrun's LOCAL_RANK).
        if cfg.policy.device == "cuda" { cfg.policy.device = "cuda:\(rendezvous.localRank)" }
        let group = try processGroup(rendezvous, cfg: cfg)
        let parallel = DataParallel(
            group: group, strategy: cfg.dist.strategy, bucketMiB: cfg.dist.bucketMiB, overlapsBackward: cfg.dist.overlapBackward)
        let path = request.folderPath(cfg)
        if let run { return TrainingJob(request: request, config: cfg, folderPath: path, run: run, parallel: parallel) }
        do { return TrainingJob(request: request, config: cfg, folderPath: path, run: try RunFolder(path: path), parallel: parallel) } catch
        {
            throw TrainingJobError("\(error)")
        }
    }

    static func config(_ request: TrainingRequest) throws(TrainingJobError) -> TrainConfig {
        do { return try request.effectiveConfig() } catch { throw TrainingJobError(error.description) }
    }

    /// The run's folder: the one to resume (claimed), or a new one with config.yaml written.
    static func folder(_ request: TrainingRequest, _ cfg: TrainConfig) throws(TrainingJobError) -> RunFolder {
        do {
            if let resume = request.resume { return try RunFolder.claim(path: resume) }
            return try TrainingRun.start(config: cfg, folder: request.folderPath(cfg))
        } catch {
            throw TrainingJobError("\(error)")
        }
    }

    /// This rank's process group: Gloo, or NCCL on the rank's CUDA device through the plugin.
    static func processGroup(_ rendezvous: Rendezvous, cfg: TrainConfig) throws(TrainingJobError) -> ProcessGroup {
        do {
            switch cfg.dist.backend {
            case .gloo:
                return try ProcessGroup(gloo: rendezvous, timeoutSeconds: cfg.dist.timeoutS)
            case .nccl:
                guard let device = Device(cfg.policy.device), case .cuda = device else {
                    throw TrainingJobError("dist.backend: nccl needs policy.device cuda[:N], got \(cfg.policy.device)")
                }
                if let problem = CUDARuntime.load() { throw TrainingJobError("dist.backend: nccl: \(problem)") }
                return try ProcessGroup(nccl: rendezvous, device: device, plugin: ncclPlugin, timeoutSeconds: cfg.dist.timeoutS)
            }
        } catch let error as TrainingJobError {
            throw error
        } catch {
            throw TrainingJobError("\(error)")
        }
    }

    /// $IAP_NCCL_PLUGIN, else libiap_nccl.so beside this executable.
    public static var ncclPlugin: String { GPUBundle.library("libiap_nccl.so", variable: "IAP_NCCL_PLUGIN") }

    /// The tensor engine as a training run wants it: freed buffers kept for reuse, the global
    /// generators seeded by `run.seed`, deterministic algorithms when `run.deterministic`.
    public func prepareEngine() throws(TrainingJobError) {
        Torch.keepFreedMemory()
        Torch.manualSeed(UInt64(config.run.seed))
        do { try Torch.setDeterministic(config.run.deterministic) } catch { throw TrainingJobError("run.deterministic: \(error)") }
    }
}
