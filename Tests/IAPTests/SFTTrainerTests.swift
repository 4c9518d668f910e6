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

/// The SFT baseline: the loss covers exactly the label's tokens, the best-scored candidate
/// becomes the label, labels survive a restart, fine-tuning lowers the label loss, and a
/// resumed run repeats the uninterrupted one.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SFTTrainerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func targetMaskCoversTheReplyOnly() throws {
        let labels = [
            SilverLabel(id: "a", score: 0, response: "", candidateScores: [], promptIds: [1, 2, 3], replyIds: [4, 5]),
            SilverLabel(id: "b", score: 0, response: "", candidateScores: [], promptIds: [1], replyIds: [6, 7, 8]),
        ]
        let (ids, valid, target) = try SFTTrainer.batch(labels)
        #expect(ids.shape == [2, 5] && target.shape == [2, 4])
        #expect(try ids.toArray(Int64.self) == [1, 2, 3, 4, 5, 1, 6, 7, 8, 0])
        #expect(try valid.toArray(Bool.self) == [true, true, true, true, true, true, true, true, true, false])
        // Position t scores token t + 1: row a's targets are tokens 3 and 4 (ids 4, 5); row b's 1, 2, 3.
        #expect(try target.toArray(Float.self) == [0, 0, 1, 1, 1, 1, 1, 0])
    }

    func trainer(folder: String, judge: EmbeddingJudge, overrides: [String] = []) throws -> SFTTrainer {
        let config = try ConfigLoader.load(
            file: nil,
            overrides: [
                "sft.samples=3", "sft.max_new_tokens=12", "sft.batch_size=2", "sft.epochs=3", "optim.lr=1e-4", "optim.warmup_ratio=0",
                "optim.micro_batch=1",
            ] + overrides)
        let files = try ModelFiles(path: ModelStore().resolve("smollm2-135m-instruct", pull: false).path)
        var options = LaMPQADataset.Options()
        options.split = .train
        options.limit = 2
        options.domains = [.artAndEntertainment]
        let data = try LaMPQADataset(folder: Self.repository.appendingPathComponent("data/sample").path, options: options)
        let parts = SFTTrainer.Parts(
            policy: try config.trainedModel(CausalLM.load(files)), tokenizer: try files.loadTokenizer(), template: try files.chatTemplate(),
            judge: judge,
            judgeCache: nil, records: data.records, input: PolicyInputBuilder(mode: .questionAndNarrative),
            chatTemplateText: files.chatTemplateText)
        return try SFTTrainer(config: config, run: RunFolder(path: folder), parts: parts)
    }

    /// Full fine-tuning, and LoRA adapters (r = 8 on every linear layer, checkpointed as a
    /// PEFT folder).
    @Test(arguments: [[], ["lora.r=8", "optim.lr=3e-3"]])
    func labelsTrainAndResume(lora: [String]) async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-sft-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let encoderFiles = try ModelFiles(path: ModelStore().resolve("all-minilm-l6-v2", pull: false).path)
        let judge = EmbeddingJudge(encoder: try BertEncoder.load(encoderFiles), tokenizer: try encoderFiles.loadTokenizer(), name: "minilm")
        #expect(throws: ConfigError.self) { try trainer(folder: base + "/bad", judge: judge, overrides: ["sft.method=explicit-intent"]) }

        let straight = try trainer(folder: base + "/straight", judge: judge, overrides: lora)
        #expect(straight.totalSteps == 3)
        try await straight.prepare()
        #expect(straight.labels.count == 2)
        for label in straight.labels {
            #expect(label.candidateScores.count == 3 && label.score == label.candidateScores.max())
            #expect(!label.replyIds.isEmpty && label.replyIds.count <= 12)
        }
        #expect(try JSONLines.read(SilverLabel.self, from: straight.labelsPath).records.count == 2)
        // Each step sees both labels (batch 2): the loss on them falls as they are learned.
        let first = try await straight.trainStep()
        _ = try await straight.trainStep()
        let third = try await straight.trainStep()
        let l1 = try #require(first["sft/loss"]), l3 = try #require(third["sft/loss"])
        #expect(l3 < l1 * 0.9, "loss \(l1) → \(l3)")

        // Stopped after step 1 and resumed in new objects: labels are read back, not regenerated,
        // and step 2 repeats the uninterrupted run's.
        let stopped = try trainer(folder: base + "/stopped", judge: judge, overrides: lora)
        try await stopped.prepare()
        _ = try await stopped.trainStep()
        try stopped.saveCheckpoint()
        let run = try RunFolder(path: base + "/stopped")
        try JSONLinesFile.append(line: #"{"step": 1, "id": "cut"}"#, to: stopped.labelsPath)  // a cut-off line is skipped
        #expect(LoRAAdapterFolder.isAdapter(run.checkpointPath(step: 1)) == !lora.isEmpty)
        let resumed = try trainer(folder: base + "/stopped", judge: judge, overrides: lora)
        try resumed.restore(from: run.checkpointPath(step: 1))
        try await resumed.prepare()
        #expect(resumed.step == 1 && resumed.labels.map(\.replyIds) == stopped.labels.map(\.replyIds))
        let labels = try JSONLines.read(SilverLabel.self, from: resumed.labelsPath)
        #expect(labels.records.count == 2 && labels.skipped.count == 1)
        let again = try await resumed.trainStep()
        let straightLines = try JSONLines.read(MetricsLine.self, from: base + "/straight/metrics.jsonl").records
        try #require(straightLines.count == 3)
        let straightSecond = straightLines[1]
        for key in ["sft/loss", "policy/grad_norm", "optim/lr"] {
            let a = try #require(straightSecond[key], "\(key) is missing"), b = try #require(again[key], "\(key) is missing")
            #expect(Swift.abs(a - b) <= 1e-5 * max(1, Swift.abs(a)), "\(key): \(a) vs \(b)")
        }
    }
}
