import ArgumentParser
import CommandSupport
import Foundation
import Hub
import IAPCore
import JSONFiles
import ModelFormats

/// `iap plan`: what a training config needs per GPU, term by term, before any card is rented.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Memory per GPU of a training config, term by term, and which strategies fit (no weights needed).",
        discussion: """
            The policy's architecture comes from its config.json (a local folder, the Hugging Face cache — or only
            config.json downloaded — a catalog model, or shape:NAME: \(ModelShapes.names.joined(separator: ", "))).
            Every term's formula: docs/plan.md.
            """)

    @Option(help: "YAML configuration.")
    var config: String

    @Option(name: .customLong("set"), help: "Override one key: section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "GPUs per node (ranks of the job on each node).")
    var gpus = 1

    @Option(help: "Nodes.")
    var nodes = 1

    @Option(help: "Memory of one GPU in GiB (default: this machine's first GPU, else 80, an H100's; a CPU config: the machine's RAM).")
    var gpuMemory: Double?

    @Option(help: "Tokens of a rollout's prompt (instruction, question, narrative).")
    var promptTokens = 1024

    @Flag(help: "Print every term in bytes and the verdicts as JSON.")
    var json = false

    func validate() throws {
        try FlagCheck.atLeast("--gpus", gpus, 1)
        try FlagCheck.atLeast("--nodes", nodes, 1)
        try FlagCheck.atLeast("--prompt-tokens", promptTokens, 1)
        if let gpuMemory, !(gpuMemory > 0 && gpuMemory < 1_000_000) { throw ValidationError("--gpu-memory: GiB above 0, got \(gpuMemory)") }
    }

    func run() throws {
        let cfg: TrainConfig
        do { cfg = try ConfigLoader.load(file: config, overrides: overrides) } catch { throw CLI.failure(error) }
        // `auto` plans for this machine's GPU when it has one (nvidia-smi answers), else its CPU.
        let cards = MachineMemory.gpus()
        let onGPU = cfg.policy.device.hasPrefix("cuda") || (cfg.policy.device == "auto" && !cards.isEmpty)
        let memory =
            gpuMemory.map { Int($0 * Double(1 << 30)) }
            ?? (onGPU ? cards.first?.memoryBytes ?? 80 << 30 : MachineMemory.hostBytes() ?? 0)
        var planner = MemoryPlanner(
            shape: try ModelArchitecture.resolve(cfg.policy.model), modelName: cfg.policy.model, config: cfg,
            memoryBytes: memory, onGPU: onGPU)
        planner.ranks = gpus * nodes
        planner.promptTokens = promptTokens
        let report = planner.report()
        if json {
            do { print(try JSONFile.encode(report, pretty: true)) } catch { throw CLI.failure(error) }
        } else {
            print(PlanText.render(report))
        }
        if !report.plan.fits { throw ExitCode(2) }
    }
}

/// A model's architecture without its weights.
enum ModelArchitecture {
    static func resolve(_ reference: String) throws(ExitCode) -> CausalLMConfig {
        do throws(ModelFileError) {
            let name = reference.hasPrefix("shape:") ? String(reference.dropFirst(6)) : reference
            if access(reference, F_OK) != 0, let shape = try ModelShapes.config(named: name) { return shape }
            if reference.hasPrefix("shape:") || reference.hasSuffix("config.json") {
                return try causal(ModelConfig.load(configJSON: name), name)
            }
        } catch {
            throw CLI.failure(error)
        }
        if access(reference, F_OK) != 0, let repository = HubRepository(parsing: reference) {
            let path = try hubConfig(repository)
            do { return try causal(ModelConfig.load(configJSON: path), reference) } catch { throw CLI.failure(error) }
        }
        let files = try CLI.openModel(reference)
        do { return try causal(files.config, reference) } catch { throw CLI.failure(error) }
    }

    private static func causal(_ config: ModelConfig, _ source: String) throws(ModelFileError) -> CausalLMConfig {
        guard case .causalLM(let decoder) = config else { throw ModelFileError(path: source, reason: "not a causal LM: nothing to train") }
        return decoder
    }

    /// The cached snapshot's config.json, else config.json alone fetched into a scratch cache
    /// (the shared cache never gets a snapshot that lacks the weights).
    private static func hubConfig(_ repository: HubRepository) throws(ExitCode) -> String {
        if let snapshot = HubCache().snapshot(of: repository), access(snapshot + "/config.json", F_OK) == 0 {
            return snapshot + "/config.json"
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("iap-plan-\(getpid())").path
        do throws(HubError) {
            let client = HubClient(cache: HubCache(root: scratch))
            let fetched = try client.download(repository) { (files) throws(HubError) in files.filter { $0 == "config.json" } }
            guard fetched.files == ["config.json"] else { throw HubError("\(repository) has no config.json") }
            let copy = scratch + ".config.json"
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.copyItem(atPath: fetched.snapshot + "/config.json", toPath: copy)
            try? FileManager.default.removeItem(atPath: scratch)
            return copy
        } catch {
            throw CLI.failure(error)
        }
    }
}
