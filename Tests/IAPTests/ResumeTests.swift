import Foundation
import LaMPQA
import ModelFormats
import ModelStore
import SafeTensors
import JSONFiles
import FileIO
import Testing
import Torch
import Transformers
import LaMPQACore
import IAPCore

@testable import IAP

/// A run stopped after a checkpoint and resumed in a fresh process-like setting (new model
/// objects, state read back from disk) repeats the uninterrupted run's next step. (The
/// 20-minute limit is there to catch hangs; on an AMD EPYC without bfloat16 matmul units the
/// suite takes a few minutes.)
@Suite(.serialized, .timeLimit(.minutes(20))) struct ResumeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A small trainer on SmolLM2 and MiniLM; `overrides` (`section.key=value`) go last.
    /// bfloat16 matmuls are emulated (slow) on CPUs without bfloat16 units: that case prompts
    /// with the question alone (a tenth of the tokens) and writes shorter rollouts.
    static func trainer(folder: String, dtype: DType, overrides: [String] = []) throws -> IAPTrainer {
        let short = dtype == .bfloat16
        let config = try ConfigLoader.load(
            file: nil,
            overrides: [
                "run.steps=2", "rollout.questions_per_step=1", "rollout.group_size=3", "rollout.max_new_tokens=\(short ? 8 : 12)",
                "rollout.reference_max_new_tokens=\(short ? 4 : 8)", "optim.micro_batch=3", "optim.lr=1e-4", "optim.warmup_ratio=0",
                "reward.malformed=judged-minus:1.0", "dapo.dynamic_sampling=false", "dapo.mask_truncated=false",
            ] + overrides)
        let store = ModelStore()
        let policyFiles = try ModelFiles(path: store.resolve("smollm2-135m-instruct", pull: false).path)
        let encoderFiles = try ModelFiles(path: store.resolve("all-minilm-l6-v2", pull: false).path)
        let encoder = try BertEncoder.load(encoderFiles)
        let encoderTokenizer = try encoderFiles.loadTokenizer()
        var options = LaMPQADataset.Options()
        options.split = .train
        options.limit = 2
        options.domains = [.artAndEntertainment]
        let data = try LaMPQADataset(folder: repository.appendingPathComponent("data/sample").path, options: options)
        // With `lora.r > 0` the policy carries adapters and the reference is it with them off.
        let policy = try config.trainedModel(CausalLM.load(policyFiles, dtype: dtype))
        let reference = policy.lora == nil ? try CausalLM.load(policyFiles, dtype: dtype) : policy.withoutAdapters()
        let parts = IAPTrainer.Parts(
            policy: policy, reference: reference, tokenizer: try policyFiles.loadTokenizer(),
            template: try policyFiles.chatTemplate(), judge: EmbeddingJudge(encoder: encoder, tokenizer: encoderTokenizer, name: "minilm"),
            judgeCache: nil, scorer: BERTScorer(encoder: encoder, tokenizer: encoderTokenizer), records: data.records,
            input: PolicyInputBuilder(mode: short ? .questionOnly : .questionAndNarrative), prompt: .standard,
            chatTemplateText: policyFiles.chatTemplateText)
        return try IAPTrainer(config: config, run: RunFolder(path: folder), parts: parts)
    }

    /// float32, and bfloat16 with float32 master weights (which must come back from the checkpoint).
    @Test(arguments: [DType.float32, .bfloat16])
    func resumedRunRepeatsTheUninterruptedOne(dtype: DType) async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let straight = try Self.trainer(folder: base + "/straight", dtype: dtype)
        _ = try await straight.trainStep()
        let expected = try await straight.trainStep()

        let first = try Self.trainer(folder: base + "/stopped", dtype: dtype)
        _ = try await first.trainStep()
        try first.saveCheckpoint()
        let folder = try RunFolder(path: base + "/stopped")
        #expect(folder.checkpointSteps() == [1])
        // Anything written after the checkpoint (a step that was killed) is trimmed on resume.
        try JSONLinesFile.append(line: #"{"step": 2, "partial": true}"#, to: first.run.metricsPath)
        let resumed = try Self.trainer(folder: base + "/stopped", dtype: dtype)
        try resumed.restore(from: folder.checkpointPath(step: 1))
        #expect(resumed.step == 1)
        let again = try await resumed.trainStep()
        for key in ["reward/mean", "reward/personalization", "response/tokens", "policy/loss", "policy/grad_norm", "optim/lr"] {
            let a = try #require(expected[key], "\(key) is missing")
            let b = try #require(again[key], "\(key) is missing")
            #expect(Swift.abs(a - b) <= 1e-6 * max(1, Swift.abs(a)), "\(key): \(a) vs \(b)")
        }
        let lines = try JSONLines.read(MetricsLine.self, from: base + "/stopped/metrics.jsonl")
        #expect(lines.records.map(\.step) == [1, 2] && lines.records.allSatisfy { $0.values["partial"] == nil } && lines.skipped.isEmpty)
        // The checkpoint is a Hugging Face folder with the optimizer and trainer state.
        if dtype == .bfloat16 {
            let (state, _) = try TensorFile.load(from: folder.checkpointPath(step: 1) + "/optimizer.safetensors")
            #expect(state.keys.contains { $0.hasPrefix("master.") } && state.values.allSatisfy { $0.dtype == .float32 })
        }
        for name in [
            "model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "optimizer.safetensors", "trainer_state.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: folder.checkpointPath(step: 1) + "/" + name), "\(name)")
        }
    }

    /// LoRA (r = 4 on the attention and MLP projections): the checkpoint is a PEFT adapter
    /// folder with the adapters' optimizer state only, and resuming from it repeats the
    /// uninterrupted run; the base weights never change.
    @Test func resumedLoRARunRepeatsTheUninterruptedOne() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-resume-lora-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let lora = ["lora.r=4", "lora.alpha=8", "lora.target_modules=[q_proj, v_proj, down_proj]", "optim.lr=1e-3"]
        let straight = try Self.trainer(folder: base + "/straight", dtype: .float32, overrides: lora)
        let frozen = try #require(straight.parts.policy.weights["model.layers.0.self_attn.q_proj.weight"]).clone()
        _ = try await straight.trainStep()
        let expected = try await straight.trainStep()
        let after = try #require(straight.parts.policy.weights["model.layers.0.self_attn.q_proj.weight"])
        #expect(try (after - frozen).abs().amax().item() == 0)
        #expect(straight.parts.policy.parameters.allSatisfy { $0.name.contains(".lora_") })

        let first = try Self.trainer(folder: base + "/stopped", dtype: .float32, overrides: lora)
        _ = try await first.trainStep()
        try first.saveCheckpoint()
        let checkpoint = try RunFolder(path: base + "/stopped").checkpointPath(step: 1)
        for name in ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: checkpoint + "/" + name), "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: checkpoint + "/model.safetensors"))
        let adapter = try LoRAAdapterFolder.read(checkpoint)
        #expect(adapter.config.baseModelNameOrPath == "smollm2-135m-instruct" && adapter.tensors.count == 2 * 3 * 30)
        let (optimizerState, _) = try TensorFile.load(from: checkpoint + "/optimizer.safetensors")
        #expect(optimizerState.keys.allSatisfy { $0.contains(".lora_") })

        let resumed = try Self.trainer(folder: base + "/stopped", dtype: .float32, overrides: lora)
        try resumed.restore(from: checkpoint)
        let again = try await resumed.trainStep()
        for key in ["reward/mean", "response/tokens", "policy/loss", "policy/grad_norm", "policy/kl"] {
            let a = try #require(expected[key], "\(key) is missing")
            let b = try #require(again[key], "\(key) is missing")
            #expect(Swift.abs(a - b) <= 1e-6 * max(1, Swift.abs(a)), "\(key): \(a) vs \(b)")
        }
    }
}

/// Issue 29 row 5: a trainer_state.json whose step disagrees with its folder (the probe:
/// step-000001 saying 2^63 − 1) or lies past run.steps is refused before anything loads,
/// naming the file; it used to resume "at step 1", train nothing and write a checkpoint
/// named for the bogus step.
@Suite struct TrainerStateStepTests {
    @Test func theStepMustAgreeWithItsFolderAndTheRun() throws {
        let folder = "runs/r/checkpoints/step-000001"
        let bogus = TrainerState(step: Int.max, cursor: 0, epoch: 0, seed: 0, optimizerStep: 1)
        #expect(
            throws: ConfigError(
                "\(folder)/trainer_state.json: step is \(Int.max) but the folder is step-000001 (a damaged or edited file?)")
        ) {
            try TrainingCheckpoint.check(bogus, of: folder, lastStep: 10)
        }
        let late = TrainerState(step: 12, cursor: 0, epoch: 0, seed: 0, optimizerStep: 12)
        #expect(
            throws: ConfigError(
                "runs/r/checkpoints/step-000012/trainer_state.json: step 12 is past run.steps (10); resume with --set run.steps=N for N ≥ 12"
            )
        ) {
            try TrainingCheckpoint.check(late, of: "runs/r/checkpoints/step-000012", lastStep: 10)
        }
        let fine = TrainerState(step: 1, cursor: 0, epoch: 0, seed: 0, optimizerStep: 1)
        try TrainingCheckpoint.check(fine, of: folder, lastStep: 1)
        try TrainingCheckpoint.check(late, of: "runs/r/checkpoints/step-000012", lastStep: nil)
    }
}
