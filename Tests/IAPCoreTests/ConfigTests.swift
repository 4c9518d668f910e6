import FileIO
import Foundation
import LaMPQACore
import Testing

@testable import IAPCore

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The message of the error `body` throws ("" when it does not throw).
func failure(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return "\(error)"
    }
}

@Suite struct ConfigTests {
    @Test func filesAndOverrides() throws {
        let config = try ConfigLoader.load(yaml: "run:\n  steps: 3\noptim:\n  lr: 2.0e-5\ndata:\n  domains: [art]\n", source: "c.yaml")
        #expect(config.run.steps == 3 && config.optim.lr == 2e-5 && config.data.domains == [.artAndEntertainment])
        #expect(config.rollout.groupSize == TrainConfig().rollout.groupSize, "keys not in the file keep their defaults")
        let folder = try scratch()
        try AtomicFile.write("run:\n  steps: 3\n", to: folder + "/c.yaml")
        let patched = try ConfigLoader.load(
            file: folder + "/c.yaml",
            overrides: ["rollout.group_size=7", "dapo.dual_clip=3", "reward.malformed=judged-minus:0.5", "data.input=profile:4"])
        #expect(patched.run.steps == 3 && patched.rollout.groupSize == 7 && patched.dapo.dualClip == 3)
        #expect(patched.reward.malformed == .judgedMinus(penalty: 0.5) && patched.data.input == .withProfile(k: 4, withNarrative: false))
        let sharded = try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["run.deterministic=true", "dist.strategy=zero2"])
        #expect(sharded.run.deterministic && sharded.dist.strategy == .zero2 && !TrainConfig().run.deterministic)
        let fsdp = try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.strategy=fsdp"])
        #expect(fsdp.dist.strategy == .fsdp)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.strategy=zero3"]) }
        // NCCL carries CUDA tensors only.
        #expect(throws: ConfigError.self) { try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.backend=nccl"]).validate() }
        try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.backend=nccl", "policy.device=cuda"]).validate()
        // `auto` is checked again once a job resolves it: no GPU makes it cpu, and NCCL fails then.
        var auto = try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.backend=nccl", "policy.device=auto"])
        try auto.validate()
        auto.policy.resolveDevice(cudaAvailable: false)
        #expect(auto.policy.device == "cpu")
        #expect(throws: ConfigError.self) { try auto.validate() }
        auto.policy.device = "auto"
        auto.policy.resolveDevice(cudaAvailable: true)
        #expect(auto.policy.device == "cuda")
        try auto.validate()
        for wrong in ["gpu", "cuda:-1", "cuda:x", "CPU"] {
            #expect(throws: ConfigError("policy.device: '\(wrong)' is not auto, cpu, cuda or cuda:N")) {
                try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["policy.device=\(wrong)"]).validate()
            }
        }
        // CUDA graphs need a CUDA device; the static steps they record run anywhere.
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["policy.decode_steps=cuda_graphs"]).validate()
        }
        try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["policy.decode_steps=cuda_graphs", "policy.device=cuda"]).validate()
        #expect(try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["policy.decode_steps=static"]).policy.decodeSteps == .static)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["policy.decode_steps=graphs"]) }
        // FSDP shards whole weights; LoRA's few trained tensors are refused with it.
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dist.strategy=fsdp", "lora.r=8"]).validate()
        }
        let unset = try ConfigLoader.load(file: folder + "/c.yaml", overrides: ["dapo.dual_clip=3", "dapo.dual_clip=null"])
        #expect(unset.dapo.dualClip == nil)
    }

    @Test func printedConfigHasEveryKeyAndReadsBack() throws {
        var config = TrainConfig()
        config.rollout.groupSize = 7
        config.optim.schedule = .cosine
        config.reward.malformed = .groupMinimum(margin: 0.1, fallback: -1)
        let yaml = ConfigLoader.yaml(config)
        #expect(yaml.contains("  group_size: 7\n") && yaml.contains("  dual_clip: null\n") && yaml.contains("  schedule: cosine\n"))
        let keys = yaml.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("  -") }.count
        #expect(keys == TrainConfig.allKeys.count, "\(keys) keys printed, \(TrainConfig.allKeys.count) known")
        #expect(try ConfigLoader.load(yaml: yaml, source: "config.yaml") == config)
    }

    @Test func unknownKeysSuggestTheClosestKnownOne() {
        for (text, message) in [
            ("run:\n  stesp: 3\n", "c.yaml: unknown key 'run.stesp' (did you mean 'run.steps'?)"),
            ("rollout:\n  grup_size: 3\n", "unknown key 'rollout.grup_size' (did you mean 'rollout.group_size'?)"),
            ("rollout:\n  lr: 1\n", "unknown key 'rollout.lr' (did you mean 'optim.lr'?)"),
            ("runs:\n  steps: 3\n", "unknown section 'runs' (did you mean 'run'?)"),
            ("optim:\n  zzzzzzzz: 1\n", "unknown key 'optim.zzzzzzzz'"),
        ] {
            let got = failure { _ = try ConfigLoader.load(yaml: text, source: "c.yaml") }
            #expect(got.contains(message), "\(text) → \(got)")
        }
        let bad = failure { _ = try ConfigLoader.load(file: nil, overrides: ["optim.learning_rat=1"]) }
        #expect(bad.contains("--set: unknown key 'optim.learning_rat'"), "\(bad)")
    }

    @Test func wrongTypesNameKeyExpectationAndValue() {
        for (text, message) in [
            ("run:\n  steps: many\n", "c.yaml: run.steps: expected an integer, got 'many'"),
            ("optim:\n  lr: [1]\n", "optim.lr: expected a number, got a list"),
            ("run: 3\n", "run: expected a mapping, got '3'"),
            ("run:\n  steps: null\n", "run.steps: expected an integer, got 'null'"),
            ("optim:\n  schedule: bogus\n", "optim.schedule: 'bogus' is not one of constant, linear, cosine"),
            ("dapo:\n  aggregation: mean\n", "dapo.aggregation: 'mean' is not one of token-mean"),
            ("data:\n  split: dev\n", "data.split: 'dev' is not one of train, validation, test"),
            ("data:\n  domains: [art, sports]\n", "unknown domain 'sports'"),
            ("reward:\n  malformed: sometimes\n", "reward.malformed: 'sometimes' is not one of a number, group-min"),
            ("judge:\n  backend: vllm\n", "judge.backend: 'vllm' is not one of embedding, local, openai"),
        ] {
            let got = failure { _ = try ConfigLoader.load(yaml: text, source: "c.yaml") }
            #expect(got.contains(message), "\(text) → \(got)")
        }
        #expect(failure { _ = try ConfigLoader.load(yaml: "", source: "e.yaml") }.contains("e.yaml: the file is empty"))
        // An alias bomb is refused before anything expands it (it used to take seconds and GBs).
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...9 { bomb += "a\(k): &a\(k) [" + Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(
            failure { _ = try ConfigLoader.load(yaml: bomb + "run:\n  steps: 1\n", source: "bomb.yaml") }.contains(
                "bomb.yaml: expands to more than"))
        #expect(
            failure { _ = try ConfigLoader.load(yaml: String(repeating: "# pad\n", count: 200_000), source: "big.yaml") }.contains(
                "at most 1 MiB"))
        #expect(failure { _ = try ConfigLoader.load(file: nil, overrides: ["nonsense"]) }.contains("expected section.key=value"))
        #expect(failure { _ = try ConfigLoader.load(file: nil, overrides: ["lr=1"]) }.contains("must be section.key"))
    }

    @Test func outOfRangeValuesNameTheKey() {
        for (override, message) in [
            ("rollout.group_size=0", "rollout.group_size: at least 1"), ("rollout.top_p=1.5", "rollout.top_p"),
            ("rollout.temperature=0", "rollout.temperature"), ("optim.lr=-1", "optim.lr"), ("run.steps=-2", "run.steps"),
            ("optim.warmup_ratio=2", "optim.warmup_ratio"), ("judge.concurrency=0", "judge.concurrency: at least 1"),
            ("reward.similarity_layer=-1", "reward.similarity_layer: at least 0"), ("sft.method=explicit-intent", "sft.method"),
            ("data.domains=[]", "data.domains"),
        ] {
            let got = failure { _ = try ConfigLoader.load(file: nil, overrides: [override]) }
            #expect(got.contains(message), "\(override) → \(got)")
        }
        #expect(failure { try TrainConfig().validate() } == "")
    }

    /// `base:` applies another file first (relative to the including file), chains, and
    /// errors name the file that holds the problem.
    @Test func baseChains() throws {
        let folder = try scratch()
        try AtomicFile.write("run:\n  steps: 50\n  seed: 4\nrollout:\n  group_size: 5\n", to: folder + "/base.yaml")
        try AtomicFile.write("base: base.yaml\nrollout:\n  group_size: 3\n", to: folder + "/middle.yaml")
        try FileSystem.makeDirectories(folder + "/sub")
        try AtomicFile.write("base: ../middle.yaml\nrun:\n  seed: 9\n", to: folder + "/sub/top.yaml")
        let config = try ConfigLoader.load(file: folder + "/sub/top.yaml", overrides: ["rollout.max_new_tokens=64"])
        #expect(config.run.steps == 50 && config.run.seed == 9 && config.rollout.groupSize == 3 && config.rollout.maxNewTokens == 64)
        try AtomicFile.write("base: loop.yaml\n", to: folder + "/loop.yaml")
        #expect(failure { _ = try ConfigLoader.load(file: folder + "/loop.yaml") }.contains("more than 8 levels"))
        try AtomicFile.write("base: missing.yaml\n", to: folder + "/dangling.yaml")
        #expect(failure { _ = try ConfigLoader.load(file: folder + "/dangling.yaml") }.contains("missing.yaml"))
        try AtomicFile.write("base: [1]\n", to: folder + "/bad.yaml")
        #expect(failure { _ = try ConfigLoader.load(file: folder + "/bad.yaml") }.contains("base: expected a file name"))
        try AtomicFile.write("run:\n  stpes: 1\n", to: folder + "/typo-base.yaml")
        try AtomicFile.write("base: typo-base.yaml\n", to: folder + "/child.yaml")
        let typo = failure { _ = try ConfigLoader.load(file: folder + "/child.yaml") }
        #expect(typo.hasPrefix(folder + "/typo-base.yaml: unknown key 'run.stpes'"), "the error names the base file: \(typo)")
    }

    /// Every bundled config loads; the ablation variants change what they say.
    @Test func bundledConfigs() throws {
        let configs = repositoryRoot.appendingPathComponent("configs").path
        let noContrast = try ConfigLoader.load(file: configs + "/ablations/no-contrast.yaml")
        #expect(noContrast.reward.lambdaContrast == 0)
        // Table 4's group sizes keep the paper's rollout batch: 512 / G questions, rounded.
        for (file, g) in [("paper/qwen2.5-7b-instruct.yaml", 5), ("ablations/group-3.yaml", 3), ("ablations/group-7.yaml", 7)] {
            let rollout = try ConfigLoader.load(file: configs + "/" + file).rollout
            #expect(rollout.groupSize == g && rollout.questionsPerStep == Int((512.0 / Double(g)).rounded()), "\(file)")
        }
        let paper = try ConfigLoader.load(file: configs + "/paper/qwen2.5-7b-instruct.yaml")
        #expect(paper.rollout.referenceBudget == 2048 && paper.rollout.scaffold == .none)
        #expect(try ConfigLoader.load(file: configs + "/ablations/demo-no-contrast.yaml").reward.lambdaContrast == 0)
        let demo = try ConfigLoader.load(file: configs + "/demo-cpu.yaml")
        #expect(
            demo.run.steps == 5 && demo.rollout.scaffold == .tags && demo.reward.malformed == .judgedMinus(penalty: 1)
                && demo.reward.similarityLayer == 6)
        _ = try ConfigLoader.load(file: configs + "/sft-demo-cpu.yaml")
        #expect(try ConfigLoader.load(file: configs + "/ablations/clip-higher.yaml").dapo.clipHigh == 0.28)
        #expect(demo.rollout.referenceAnswers == .cachedGreedy)
    }

    /// configs/paper/: one config per model of the paper, each with the paper's numbers (§4,
    /// TRL's schedule, LaMP-QA's judge retries) — issue 31 §3.
    @Test(arguments: [
        ("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", false), ("qwen2.5-7b", "Qwen/Qwen2.5-7B", true),
        ("gemma3-12b-it", "google/gemma-3-12b-it", false), ("gemma3-12b", "google/gemma-3-12b-pt", true),
        ("mistral-small-24b-instruct-2501", "mistralai/Mistral-Small-24B-Instruct-2501", false),
        ("mistral-small-24b-base-2501", "mistralai/Mistral-Small-24B-Base-2501", true),
    ])
    func paperConfigsCarryThePapersNumbers(_ name: String, model: String, base: Bool) throws {
        let c = try ConfigLoader.load(file: repositoryRoot.appendingPathComponent("configs/paper/\(name).yaml").path)
        #expect(c.policy.model == model && c.policy.chatTemplate == (base ? "plain" : nil))
        #expect(c.run.steps == 200 && c.rollout.groupSize == 5 && c.rollout.questionsPerStep * c.rollout.groupSize == 510)
        #expect(c.optim.lr == 1e-5 && c.optim.warmupRatio == 0.285 && c.optim.schedule == .linear)
        #expect(c.dapo.clipLow == 0.2 && c.dapo.clipHigh == 0.2 && c.dapo.klCoef == 0.001)
        #expect(c.rollout.maxNewTokens == 2048 && c.rollout.referenceBudget == 2048 && c.reward.intentTokenLimit == 400)
        #expect(c.rollout.temperature == 1.0 && c.rollout.topP == 1.0 && c.rollout.referenceAnswers == .sampled)
        #expect(c.judge.retryRounds == 100 && c.judge.model == "Qwen/Qwen2.5-32B-Instruct")
        #expect(c.reward.similarityModel == "microsoft/deberta-v3-large" && c.reward.similarityLayer == 12)
        #expect(c.policy.gradientCheckpointing && c.dist.strategy == .fsdp && c.policy.dtype == .bfloat16)
    }

    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "iap-config-\(UUID().uuidString)"
        try FileSystem.makeDirectories(path)
        return path
    }
}
