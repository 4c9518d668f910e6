import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// LoRA adapters against peft (fixtures from scripts/fixtures/make_lora_fixtures.py on the
/// tiny random Llama 3: r = 4, alpha = 8, rsLoRA, q/v/down projections, random A and B).
@Suite struct LoRATests {
    static let loraFixtures = modelFixtures.deletingLastPathComponent().appendingPathComponent("lora")
    static let peftAdapter = loraFixtures.appendingPathComponent("peft-adapter").path

    static func base() throws -> CausalLM {
        try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path))
    }

    static func expected() throws -> [String: Tensor] {
        try TensorFile.load(from: loraFixtures.appendingPathComponent("peft-logits.safetensors").path).tensors
    }

    /// Largest |Δ| between `model`'s logits on the fixture batch and `key`'s, at real tokens.
    static func worst(_ model: CausalLM, against key: String) throws -> Float {
        let fixture = try expected()
        let mask = try #require(fixture["attention_mask"])
        let positions = try (mask.cumsum(dim: 1) - 1.0).clamp(min: 0).to(.int64)
        let got = try withNoGrad {
            try model.logits(model.hiddenStates(ids: #require(fixture["input_ids"]), positions: positions, valid: mask.eq(1)))
        }
        let real = try mask.eq(1).unsqueeze(-1).to(.float32)
        return try floats(((got - #require(fixture[key])).abs() * real).amax())[0]
    }

    @Test func peftsAdapterGivesPeftsLogitsAndOffGivesTheBase() throws {
        let adapted = try LoRAAdapterFolder.load(Self.peftAdapter, onto: Self.base())
        #expect(adapted.lora?.useRslora == true && adapted.lora?.r == 4)
        #expect(try Self.worst(adapted, against: "adapted_logits") <= 1e-5)
        #expect(try Self.worst(adapted.withoutAdapters(), against: "base_logits") <= 1e-5)
        #expect(try Self.worst(adapted, against: "base_logits") > 1e-2)  // the adapter matters
    }

    /// The adapter-free view (a LoRA run's reference) uses the packed copies the adapted
    /// policy made of their shared base weights, not a second set, and still gives the base's
    /// logits; the adapted model's own logits stay peft's.
    @Test func theViewWithoutAdaptersSharesThePackedBaseWeights() throws {
        let adapted = try LoRAAdapterFolder.load(Self.peftAdapter, onto: Self.base())
        let reference = adapted.withoutAdapters()
        #expect(reference.shared === adapted.shared)
        #expect(try Self.worst(adapted, against: "adapted_logits") <= 1e-5)
        let made = try #require(adapted.shared.packed.withLock { $0 })
        #expect(try Self.worst(reference, against: "base_logits") <= 1e-5)
        #expect(reference.shared.packed.withLock { $0 } === made)
        #expect(try Self.worst(adapted, against: "adapted_logits") <= 1e-5)
    }

    @Test func mergedWeightsGivePeftsMergedLogits() throws {
        let adapted = try LoRAAdapterFolder.load(Self.peftAdapter, onto: Self.base())
        let merged = try CausalLM(config: adapted.config, weights: adapted.mergedWeights(), source: "merged")
        #expect(merged.lora == nil)
        #expect(try Self.worst(merged, against: "merged_logits") <= 1e-5)
    }

    /// Fresh adapters (PEFT's initialisation: B zero) leave the model's output unchanged; only
    /// they are trainable, by peft's names, and the base weights are not.
    @Test func freshAdaptersStartAtTheBaseAndAloneAreTrained() throws {
        let base = try Self.base()
        var config = LoRAAdapterConfig()
        config.r = 8
        let adapted = try base.withNewAdapters(config, seed: 3)
        #expect(try Self.worst(adapted, against: "base_logits") <= 1e-5)
        let names = adapted.parameters.map(\.name)
        #expect(names.count == 2 * 7 * base.config.layerCount)
        #expect(names.contains("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"))
        let a = try #require(adapted.adapterTensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"])
        #expect(a.shape == [8, base.config.hiddenSize])
        let bound = 1 / Float(base.config.hiddenSize).squareRoot()
        #expect(try floats(a.abs().amax())[0] <= bound && floats(a.abs().amax())[0] > bound / 2)
        #expect(base.parameters.count == base.weights.count)
    }

    /// Our adapter folder has peft's file names and key names, and reads back to the same model.
    @Test func ourAdapterFolderRoundTrips() throws {
        let peft = try LoRAAdapterFolder.read(Self.peftAdapter)
        var config = peft.config
        config.baseModelNameOrPath = nil
        let ours = try Self.base().withNewAdapters(config, seed: 9)
        for p in ours.parameters where p.name.contains("lora_B") { try p.tensor.uniform_(from: -0.1, to: 0.1) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-lora-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LoRAAdapterFolder.save(ours, to: folder, baseModel: "tiny-llama3")
        let back = try LoRAAdapterFolder.read(folder)
        #expect(Set(back.tensors.keys) == Set(peft.tensors.keys))
        #expect(back.config.baseModelNameOrPath == "tiny-llama3" && back.config.scale == config.scale)
        let reloaded = try LoRAAdapterFolder.load(folder, onto: Self.base())
        let fixture = try Self.expected()
        let ids = try #require(fixture["input_ids"])
        let positions = try CausalLM.positions(valid: nil, batch: ids.shape[0], time: ids.shape[1], device: .cpu)
        let (x, y) = try withNoGrad {
            (
                try ours.logits(ours.hiddenStates(ids: ids, positions: positions, valid: nil)),
                try reloaded.logits(reloaded.hiddenStates(ids: ids, positions: positions, valid: nil))
            )
        }
        #expect(maxDifference(try floats(x), try floats(y)) == 0)
        // For `make_lora_fixtures.py check-ours`: peft loads this adapter and compares logits.
        if let out = ProcessInfo.processInfo.environment["IAP_LORA_CHECK"] {
            try LoRAAdapterFolder.save(ours, to: out + "/adapter", baseModel: "tiny-llama3")
            let mask = try Tensor.ones(ids.shape, dtype: .int64)
            try TensorFile.save(["input_ids": ids, "attention_mask": mask, "logits": x], to: out + "/logits.safetensors")
        }
    }

    /// d loss / d adapter entries by autograd equal central finite differences (float64 model).
    @Test func adapterGradientsMatchFiniteDifferences() throws {
        let files = try ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path)
        let base = try CausalLM.load(files, dtype: .float64)
        var config = LoRAAdapterConfig()
        config.r = 2
        config.targetModules = .names(["v_proj", "up_proj"])
        let model = try base.withNewAdapters(config, seed: 5, dtype: .float64)
        for p in model.parameters { try p.tensor.uniform_(from: -0.2, to: 0.2) }
        let ids = try Tensor((0..<12).map { Int64($0 * 23 % 300) }, shape: [2, 6])
        // Log-likelihood of the sequences in float64 throughout (the fused training head works
        // in float32, too coarse for finite differences).
        let positions = try CausalLM.positions(valid: nil, batch: 2, time: 6, device: .cpu)
        let targets = try ids.narrow(dim: 1, start: 1, length: 5).unsqueeze(-1)
        func loss() throws(TorchError) -> Tensor {
            let logits = try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil))
            return try logits.narrow(dim: 1, start: 0, length: 5).logSoftmax(dim: -1).gather(dim: -1, index: targets).sum()
        }
        for p in model.parameters { _ = try p.tensor.requiresGrad() }
        try loss().backward()
        for p in model.parameters {
            let grad = try #require(p.tensor.grad).flatten()
            for index in [0, p.tensor.count - 1] {
                let flat = try p.tensor.detach().view([-1]).narrow(dim: 0, start: index, length: 1)
                let original = try flat.item()
                let eps = 1e-6
                let (up, down) = try withNoGrad { () throws(TorchError) -> (Double, Double) in
                    try flat.fill_(.float(original + eps))
                    let up = try loss().item()
                    try flat.fill_(.float(original - eps))
                    let down = try loss().item()
                    try flat.fill_(.float(original))
                    return (up, down)
                }
                let numeric = (up - down) / (2 * eps)
                let analytic = try grad.narrow(dim: 0, start: index, length: 1).item()
                #expect(
                    Swift.abs(numeric - analytic) <= 1e-5 * max(1, Swift.abs(numeric)), "\(p.name)[\(index)]: \(analytic) vs \(numeric)")
            }
        }
    }

    /// With gradient checkpointing the adapters get the same gradients (the recomputed blocks'
    /// input is a frozen embedding's output, which must still pass gradients on), through the
    /// plain and the shared-prefix forward.
    @Test func checkpointedBlocksGiveAdaptersTheirGradients() throws {
        func gradients(checkpointing: Bool, sharedPrefix: Bool) throws -> [String: [Float]] {
            var config = LoRAAdapterConfig()
            config.r = 2
            let model = try Self.base().withNewAdapters(config, seed: 4)
            let generator = try Generator(seed: 1)
            for p in model.parameters { try p.tensor.uniform_(from: -0.1, to: 0.1, generator: generator) }
            let pass = TrainingPass(gradientCheckpointing: checkpointing)
            for p in model.parameters { _ = try p.tensor.requiresGrad() }
            let ids = try Tensor((0..<16).map { Int64($0 * 29 % 300) }, shape: [2, 8])
            let logProbs =
                sharedPrefix
                ? try model.continuationLogProbs(
                    prefix: ids.narrow(dim: 0, start: 0, length: 1).narrow(dim: 1, start: 0, length: 3).reshape([3]),
                    continuations: ids.narrow(dim: 1, start: 3, length: 5).contiguous(), valid: nil, pass: pass
                ).logProbs
                : try model.sequenceLogProbs(ids: ids, valid: nil, pass: pass).logProbs
            try logProbs.sum().backward()
            var grads: [String: [Float]] = [:]
            for p in model.parameters { grads[p.name] = try floats(#require(p.tensor.grad)) }
            return grads
        }
        for shared in [false, true] {
            let plain = try gradients(checkpointing: false, sharedPrefix: shared)
            let recomputed = try gradients(checkpointing: true, sharedPrefix: shared)
            #expect(plain.count == 28 && plain.values.contains { $0.contains { $0 != 0 } })
            for (name, g) in plain { #expect(maxDifference(g, recomputed[name] ?? []) <= 1e-5, "\(name)") }
        }
    }

    /// Gemma 3 blocks (four norms, q/k norms, sliding window) take adapters too: fresh ones
    /// leave the output unchanged, and the merged weights compute what the adapted model does.
    @Test func gemmaAdaptersStartAtTheBaseAndMerge() throws {
        let base = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-gemma3").path))
        let adapted = try base.withNewAdapters(LoRAAdapterConfig(), seed: 2)
        let ids = try Tensor((0..<20).map { Int64($0 * 17 % 300) }, shape: [2, 10])
        let positions = try CausalLM.positions(valid: nil, batch: 2, time: 10, device: .cpu)
        func logits(_ model: CausalLM) throws -> [Float] {
            try floats(withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        }
        #expect(maxDifference(try logits(base), try logits(adapted)) <= 1e-6)
        let generator = try Generator(seed: 3)
        for p in adapted.parameters where p.name.contains("lora_B") { try p.tensor.uniform_(from: -0.05, to: 0.05, generator: generator) }
        let merged = try CausalLM(config: adapted.config, weights: adapted.mergedWeights(), source: "merged")
        let (a, m) = (try logits(adapted), try logits(merged))
        #expect(maxDifference(a, try logits(base)) > 1e-3 && maxDifference(a, m) <= 1e-4)
    }

    @Test func badAdaptersAreRefusedWithTheReason() throws {
        let base = try Self.base()
        var config = LoRAAdapterConfig()
        config.targetModules = .names(["q_proj", "qkv_proj"])
        #expect(throws: LoRAError.self) { try base.withNewAdapters(config, seed: 1) }
        do { _ = try base.withNewAdapters(config, seed: 1) } catch {
            #expect(error.description.contains("qkv_proj") && error.description.contains("gate_proj"))
        }

        var peft = try LoRAAdapterFolder.read(Self.peftAdapter)
        peft.config.r = 8
        do { _ = try base.withAdapters(peft.config, tensors: peft.tensors, source: "adapter") } catch {
            #expect(error.description.contains("has rank 4 but adapter_config.json says r = 8"))
        }
        let other = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-gemma3").path))
        let real = try LoRAAdapterFolder.read(Self.peftAdapter)
        do {
            _ = try other.withAdapters(real.config, tensors: real.tensors, source: "adapter"); Issue.record("loaded onto another model")
        } catch {
            #expect(error.description.contains("another base model"), "\(error)")
        }
        var extra = real.tensors
        extra["base_model.model.lm_head.lora_A.weight"] = try Tensor.zeros([4, 64])
        do { _ = try base.withAdapters(real.config, tensors: extra, source: "adapter"); Issue.record("extra tensor accepted") } catch {
            #expect(error.description.contains("lm_head.lora_A.weight belongs to no layer"))
        }
    }

    @Test func unsupportedPeftFeaturesAreNamed() throws {
        for (json, key) in [
            (#"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "use_dora": true}"#, "use_dora"),
            (
                #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "exclude_modules": ["k_proj"]}"#,
                "exclude_modules"
            ),
            (
                #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "rank_pattern": {"q_proj": 8}}"#,
                "rank_pattern"
            ),
            (#"{"peft_type": "IA3", "target_modules": ["q_proj"]}"#, "peft_type"),
        ] {
            let config = try JSONDecoder().decode(LoRAAdapterConfig.self, from: Data(json.utf8))
            #expect(config.problem?.contains(key) == true, "\(key): \(config.problem ?? "accepted")")
        }
        let fine = try JSONDecoder().decode(
            LoRAAdapterConfig.self,
            from: Data(#"{"r": 4, "lora_alpha": 8, "target_modules": "all-linear", "exclude_modules": null, "loftq_config": {}}"#.utf8))
        #expect(fine.problem == nil && fine.targetModules == .allLinear && fine.scale == 2)
    }
}

/// Issue 31 item 9: adapters of a multimodal Gemma 3 checkpoint (gemma-3-12b-it's shape,
/// Tests/Fixtures/saved) carry the names peft gives them there — `model.language_model.layers.N…`
/// — and peft's q_proj/v_proj adapters on the vision tower are set aside.
@Suite struct MultimodalLoRATests {
    static let base = modelFixtures.deletingLastPathComponent().appendingPathComponent("saved/gemma3-12b-it-shaped").path
    static let lora = modelFixtures.deletingLastPathComponent().appendingPathComponent("lora")

    @Test func peftsAdapterOnTheWrapperLoadsAndOursIsNamedAsPeftNamesIt() throws {
        let model = try CausalLM.load(ModelFiles(path: Self.base))
        #expect(model.config.moduleRoot == "model.language_model")
        let folder = Self.lora.appendingPathComponent("gemma3-mm-adapter").path
        let adapted = try LoRAAdapterFolder.load(folder, onto: model)
        let fixture = try TensorFile.load(from: Self.lora.appendingPathComponent("gemma3-mm-logits.safetensors").path).tensors
        let ids = try #require(fixture["input_ids"])
        let positions = try Tensor.arange(.int(ids.shape[1])).unsqueeze(0)
        let got = try withNoGrad { try adapted.logits(adapted.hiddenStates(ids: ids, positions: positions, valid: nil)) }
        #expect(try floats((got - #require(fixture["adapted_logits"])).abs().amax())[0] <= 1e-5)
        // Ours, written from the same adapters, uses peft's text-decoder names exactly.
        let peftNames = try TensorFile.load(from: folder + "/adapter_model.safetensors").tensors.keys.filter {
            !$0.contains("vision_tower")
        }
        #expect(Set(adapted.adapterTensors.keys) == Set(peftNames))
        #expect(adapted.adapterTensors.keys.allSatisfy { $0.hasPrefix("base_model.model.model.language_model.layers.") })
    }
}
