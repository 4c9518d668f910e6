import ArgumentParser
import CommandSupport
import Foundation
import IAP
import IAPCore
import LaMPQA
import LaMPQACore
import ModelFormats
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

extension BenchCommand {
    /// Whole IAP steps as `iap train` makes them — rollouts of G with the scaffold, reference
    /// answers, judging, similarity, the update — for any policy, including a `shape:` model
    /// with random weights made on the device (the paper's shapes without their files; issue
    /// 33 §3). The judge is a stand-in that scores instantly (the judge's own server is not
    /// what this measures). Prints per step the time of each phase, tokens/s, and the peak
    /// memory beside `iap plan`'s prediction for the same config at the data's prompt length.
    struct IAPStep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "iap-step", abstract: "Whole IAP training steps: phase times, tokens/s, peak memory beside iap plan.")

        @Option(help: "A training config (YAML), as for iap train.")
        var config: String
        @Option(name: .customLong("set"), help: "key=value overrides of the config, as iap train --set.")
        var overrides: [String] = []
        @Option(help: "The policy instead of policy.model: a model, or shape:NAME / shape:config.json (random weights).")
        var model: String?
        @Option(help: "A model name or folder whose tokenizer and chat template a shape: policy uses.")
        var tokenizer: String?
        @Option(help: "Steps to run (the first warms up: allocator, kernels, CUDA graphs).")
        var steps = 2
        @Option(help: "CPU threads.")
        var threads = 2

        func run() async throws {
            Torch.threads = threads
            Torch.keepFreedMemory()
            var cfg: TrainConfig
            do { cfg = try ConfigLoader.load(file: config, overrides: overrides + (model.map { ["policy.model=\($0)"] } ?? [])) } catch {
                throw CLI.failure(error)
            }
            let runtime = try CLI.runtime(dtype: cfg.policy.dtype.rawValue, device: cfg.policy.device)
            cfg.policy.device = runtime.device.description
            let parts = try IAPStepParts.make(cfg, runtime: runtime, tokenizer: tokenizer)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-step-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let trainer: IAPTrainer
            do { trainer = try IAPTrainer(config: cfg, run: try RunFolder.claim(path: folder), parts: parts) } catch {
                throw CLI.failure("\(error)")
            }
            let prompts = try trainer.rolloutPromptLengths(Array(parts.records.prefix(64)))
            var planner = MemoryPlanner(
                shape: parts.policy.config, modelName: cfg.policy.model, config: cfg, memoryBytes: 1 << 40, onGPU: runtime.device != .cpu)
            planner.promptTokens = prompts.max() ?? 0
            let plan = planner.plan()
            for index in 1...max(1, steps) {
                let started = ContinuousClock.now
                let line = try await trainer.trainStep()
                try runtime.device.synchronize()
                BenchResult.print(
                    BenchResult.IAPStep(
                        step: index, line: line, seconds: seconds(ContinuousClock.now - started), config: cfg,
                        promptTokensMean: Double(prompts.reduce(0, +)) / Double(max(1, prompts.count)), plan: plan,
                        peakRSSMB: Self.peakRSSMB(), device: runtime.device.description))
            }
        }

        static func peakRSSMB() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss / 1024
        }
    }
}

/// The trainer's parts as `iap train` assembles them, with a policy that may be a `shape:`
/// model and the stand-in judge.
enum IAPStepParts {
    static func make(_ cfg: TrainConfig, runtime: (dtype: DType, device: Device), tokenizer: String?) throws -> IAPTrainer.Parts {
        let random = cfg.policy.model.hasPrefix(BenchModel.shapePrefix)
        guard let vocabulary = random ? tokenizer : tokenizer ?? cfg.policy.model else {
            throw CLI.failure("a shape: policy needs --tokenizer (a model whose tokenizer and chat template it uses)")
        }
        let files = try CLI.openModel(vocabulary)
        let base = try BenchModel.load(cfg.policy.model, dtype: runtime.dtype, device: runtime.device, seed: UInt64(cfg.run.seed))
        let policy: CausalLM
        let reference: CausalLM
        do {
            policy = try cfg.trainedModel(base)
            reference =
                policy.lora != nil
                ? policy.withoutAdapters()
                : try BenchModel.load(cfg.policy.model, dtype: runtime.dtype, device: runtime.device, seed: UInt64(cfg.run.seed))
        } catch { throw CLI.failure("\(error)") }
        let similarity = try CLI.openModel(cfg.reward.similarityModel)
        let encoder: any TextEncoder
        do { encoder = try TextEncoders.load(similarity, device: runtime.device) } catch { throw CLI.failure("\(error)") }
        let encoderTokenizer = try CLI.loadTokenizer(similarity)
        let layer = min(cfg.reward.similarityLayer ?? encoder.layerCount, encoder.layerCount)
        var options = LaMPQADataset.Options()
        options.split = cfg.data.split
        options.limit = cfg.data.limit
        options.domains = cfg.data.domains
        do {
            return IAPTrainer.Parts(
                policy: policy, reference: reference, tokenizer: try CLI.loadTokenizer(files), template: try files.chatTemplate(),
                judge: StandInJudge(), judgeCache: nil,
                scorer: BERTScorer(encoder: encoder, tokenizer: encoderTokenizer, layer: layer, baseline: nil),
                records: try LaMPQADataset(folder: cfg.data.folder, options: options).records,
                input: PolicyInputBuilder(
                    mode: cfg.data.input, rank: PolicyInputBuilder.encoderRanker(encoder, tokenizer: encoderTokenizer)),
                prompt: try cfg.rollout.promptFile.map { (path) throws(RolloutPromptError) in try RolloutPrompt.load(path) } ?? .standard,
                chatTemplateText: files.chatTemplateText)
        } catch {
            throw CLI.failure("\(error)")
        }
    }
}

/// A judge that answers at once: each verdict a score in 0…2 from a hash of the response and
/// aspect, so a group's rewards spread as a real judge's would and the update has a gradient.
struct StandInJudge: RubricJudge {
    var identity: String { "stand-in" }
    var promptVersion: String { "" }
    var isProxy: Bool { true }

    func judge(_ items: [JudgeItem], temperature: Double) async -> [JudgeVerdict] {
        items.map { item in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
            for byte in (item.response + item.aspect.aspect).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return .score(Int(hash % 3))
        }
    }
}
