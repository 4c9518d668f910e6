import Foundation
import ModelFormats
import SafeTensors
import Testing
import Torch
import Transformers

@testable import IAP

let modelFixtureFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/models")

@Suite struct TrainConfigTests {
    @Test func filesAndOverridesWithKeyedErrors() throws {
        var config = TrainConfig()
        try config.apply(yaml: "run:\n  steps: 3\noptim:\n  lr: 2.0e-5\ndata:\n  domains: [art]\n", source: "c.yaml")
        try config.apply(override: "rollout.group_size=7")
        try config.apply(override: "dapo.dual_clip=3")
        try config.apply(override: "dapo.dual_clip=null")
        #expect(config.int("run.steps") == 3 && config.double("optim.lr") == 2e-5 && config.list("data.domains") == ["art"])
        #expect(config.int("rollout.group_size") == 7 && config.optionalDouble("dapo.dual_clip") == nil)
        #expect(config.yaml.contains("  group_size: 7\n") && config.yaml.contains("  dual_clip: null\n"))
        for (text, message) in [
            ("run:\n  stesp: 3\n", "c.yaml: unknown key 'run.stesp' (run has: name, seed, steps"),
            ("runs:\n  steps: 3\n", "unknown section 'runs'"),
            ("run:\n  steps: many\n", "c.yaml: run.steps: expected an integer"),
            ("optim:\n  lr: [1]\n", "optim.lr: expected a number"),
            ("run: 3\n", "section 'run' must be a mapping"),
            ("run:\n  steps: null\n", "run.steps: may not be null"),
        ] {
            var fresh = TrainConfig()
            #expect { try fresh.apply(yaml: text, source: "c.yaml") } throws: { "\($0)".contains(message) }
        }
        var fresh = TrainConfig()
        #expect { try fresh.apply(override: "optim.learning_rate=1") } throws: { "\($0)".contains("unknown key 'optim.learning_rate'") }
        #expect { try fresh.apply(override: "nonsense") } throws: { "\($0)".contains("expected section.key=value") }
        // The effective YAML reads back to the same values.
        var reread = TrainConfig()
        try reread.apply(yaml: config.yaml, source: "config.yaml")
        #expect(reread.values == config.values)
    }

    @Test func outOfRangeValuesNameTheKey() throws {
        for (override, message) in [
            ("rollout.group_size=0", "rollout.group_size: at least 1"), ("rollout.top_p=1.5", "rollout.top_p"),
            ("rollout.temperature=0", "rollout.temperature"), ("optim.lr=-1", "optim.lr"), ("run.steps=-2", "run.steps"),
            ("optim.warmup_ratio=2", "optim.warmup_ratio"),
        ] {
            var config = TrainConfig()
            try config.apply(override: override)
            #expect { try IAPTrainer.validate(config) } throws: { "\($0)".contains(message) }
        }
        try IAPTrainer.validate(TrainConfig())
    }

    /// `base:` applies another file first (relative to the including file); loops and missing
    /// files are errors naming the file; the bundled ablation configs all load.
    @Test func baseFilesAndBundledConfigs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-config-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AtomicFile.write("run:\n  steps: 50\n  seed: 4\nrollout:\n  group_size: 5\n", to: folder + "/base.yaml")
        try AtomicFile.write("base: base.yaml\nrollout:\n  group_size: 3\n", to: folder + "/variant.yaml")
        var config = TrainConfig()
        try config.apply(file: folder + "/variant.yaml")
        #expect(config.int("run.steps") == 50 && config.int("run.seed") == 4 && config.int("rollout.group_size") == 3)
        try AtomicFile.write("base: loop.yaml\n", to: folder + "/loop.yaml")
        var looped = TrainConfig()
        #expect { try looped.apply(file: folder + "/loop.yaml") } throws: { "\($0)".contains("more than 8 levels") }
        try AtomicFile.write("base: missing.yaml\n", to: folder + "/dangling.yaml")
        #expect { try looped.apply(file: folder + "/dangling.yaml") } throws: { "\($0)".contains("dangling.yaml: base:") && "\($0)".contains("missing.yaml") }
        try AtomicFile.write("base: [1]\n", to: folder + "/bad.yaml")
        #expect { try looped.apply(file: folder + "/bad.yaml") } throws: { "\($0)".contains("base: expected a file name") }
        let configs = modelFixtureFolder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("configs").path
        for (file, key, value) in [
            ("ablations/no-contrast.yaml", "reward.lambda_contrast", 0.0), ("ablations/group-3.yaml", "rollout.group_size", 3.0),
            ("ablations/group-7.yaml", "rollout.group_size", 7.0), ("ablations/demo-no-contrast.yaml", "reward.lambda_contrast", 0.0),
        ] {
            var c = TrainConfig()
            try c.apply(file: configs + "/" + file)
            #expect((key.hasPrefix("reward") ? c.double(key) : Double(c.int(key))) == value, "\(file)")
            #expect(c.string("policy.model") != "" && c.int("run.steps") > 0)
        }
        for file in ["demo-cpu.yaml", "sft-demo-cpu.yaml", "paper-qwen2.5-7b-instruct.yaml"] {
            var c = TrainConfig()
            try c.apply(file: configs + "/" + file)
        }
    }
}

@Suite struct TensorBoardWriterTests {
    @Test func recordsAreFramedWithMaskedCRC32C() throws {
        #expect(TensorBoardWriter.crc32c(Array("123456789".utf8)) == 0xE306_9283)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-tb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try TensorBoardWriter(folder: folder)
        writer.write(step: 3, scalars: [("reward/mean", 0.5), ("nan", .nan)])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        // Walk the records and check both CRCs of each.
        var offset = 0
        var records = 0
        while offset < bytes.count {
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let lengthCRC = bytes[(offset + 8)..<(offset + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            #expect(lengthCRC == TensorBoardWriter.maskedCRC(lengthBytes))
            let data = Array(bytes[(offset + 12)..<(offset + 12 + Int(length))])
            let dataCRC = bytes[(offset + 12 + Int(length))..<(offset + 16 + Int(length))].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            #expect(dataCRC == TensorBoardWriter.maskedCRC(data))
            if records == 0 { #expect(String(decoding: data, as: UTF8.self).contains("brain.Event:2")) }
            if records == 1 { #expect(String(decoding: data, as: UTF8.self).contains("reward/mean") && !String(decoding: data, as: UTF8.self).contains("nan")) }
            offset += 16 + Int(length)
            records += 1
        }
        #expect(records == 2)
    }
}

/// The RL machinery learns: a tiny random model, one prompt, eight samples per step, and a
/// verifiable reward (the share of completion tokens with an id below 32, ~10 % at first).
/// Group-relative advantages + the clipped token-level loss + AdamW must raise the mean
/// reward within 30 steps.
@Suite(.timeLimit(.minutes(3))) struct LearningTests {
    @Test func meanRewardRises() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtureFolder.appendingPathComponent("tiny-qwen2").path))
        for p in model.parameters { _ = try p.tensor.requiresGrad() }
        let optimizer = AdamW(parameters: model.parameters, learningRate: 3e-3, weightDecay: 0)
        let tokenizer = try Tokenizer.load(tokenizerJSON: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer/tiny-gpt2.tokenizer.json").path)
        let prompt = [5, 17, 42, 99, 3]
        var loss = PolicyLoss()
        loss.klCoefficient = 0
        var rewards: [Double] = []
        for step in 0..<30 {
            var options = GenerationOptions()
            options.samplesPerPrompt = 8
            options.maxNewTokens = 8
            options.stopAtEOS = false
            options.seed = UInt64(step)
            let out = try withNoGrad { try model.generate(prompts: [prompt], tokenizer: tokenizer, options: options) }
            let r = out.map { s in Double(s.tokens.filter { $0 < 32 }.count) / Double(max(1, s.tokens.count)) }
            rewards.append(r.reduce(0, +) / Double(r.count))
            let advantages = GroupAdvantages.compute([r.map { Optional($0) }])[0]
            let ids = try Tensor(out.flatMap { (prompt + $0.tokens).map(Int64.init) }, shape: [8, prompt.count + 8])
            var mask = [Float](repeating: 0, count: 8 * (prompt.count + 7))
            for b in 0..<8 { for t in (prompt.count - 1)..<(prompt.count + 7) { mask[b * (prompt.count + 7) + t] = 1 } }
            let maskTensor = try Tensor(mask, shape: [8, prompt.count + 7])
            let (logp, _) = try model.sequenceLogProbs(ids: ids, valid: nil)
            let result = try loss(
                logProbs: logp, oldLogProbs: logp.detach(), referenceLogProbs: nil, advantages: Tensor(advantages.map(Float.init)),
                mask: maskTensor, globalTokens: 64, globalSequences: 8, maxLength: 8)
            try optimizer.zeroGrad()
            try result.loss.backward()
            _ = try clipGradientNorm(model.parameters.map(\.tensor), maxNorm: 1)
            try optimizer.step()
        }
        let first = rewards.prefix(5).reduce(0, +) / 5
        let last = rewards.suffix(5).reduce(0, +) / 5
        #expect(last > first + 0.2, "mean reward \(first) → \(last): \(rewards)")
    }
}
