import LaMPQACore

/// Everything `iap train` and `iap sft` are configured by: one section per YAML mapping,
/// each key with its default in the section's struct (`iap train --print-config` prints
/// them all). Read with `ConfigLoader` (files, `base:` chains, `--set` overrides).
public struct TrainConfig: Codable, Sendable, Equatable {
    public var run = Run()
    public var policy = Policy()
    public var data = Data()
    public var rollout = Rollout()
    public var reward = Reward()
    public var judge = Judge()
    public var optim = Optim()
    public var dapo = DAPO()
    public var sft = SFT()
    public var lora = LoRA()
    public var dist = Dist()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case run, policy, data, rollout, reward, judge, optim, dapo, sft, lora, dist
    }

    public init(from decoder: any Decoder) throws {
        let read = try SectionReader(decoder, CodingKeys.self)
        let d = TrainConfig()
        run = try read(.run, d.run)
        policy = try read(.policy, d.policy)
        data = try read(.data, d.data)
        rollout = try read(.rollout, d.rollout)
        reward = try read(.reward, d.reward)
        judge = try read(.judge, d.judge)
        optim = try read(.optim, d.optim)
        dapo = try read(.dapo, d.dapo)
        sft = try read(.sft, d.sft)
        lora = try read(.lora, d.lora)
        dist = try read(.dist, d.dist)
    }

    /// Every key as `section.key`, in file order (for "did you mean" and printing).
    public static let allKeys: [String] =
        [
            Run.CodingKeys.allCases.map { "run.\($0.stringValue)" }, Policy.CodingKeys.allCases.map { "policy.\($0.stringValue)" },
            Data.CodingKeys.allCases.map { "data.\($0.stringValue)" }, Rollout.CodingKeys.allCases.map { "rollout.\($0.stringValue)" },
            Reward.CodingKeys.allCases.map { "reward.\($0.stringValue)" }, Judge.CodingKeys.allCases.map { "judge.\($0.stringValue)" },
            Optim.CodingKeys.allCases.map { "optim.\($0.stringValue)" }, DAPO.CodingKeys.allCases.map { "dapo.\($0.stringValue)" },
            SFT.CodingKeys.allCases.map { "sft.\($0.stringValue)" }, LoRA.CodingKeys.allCases.map { "lora.\($0.stringValue)" },
            Dist.CodingKeys.allCases.map { "dist.\($0.stringValue)" },
        ].flatMap { $0 }
}

extension TrainConfig {
    /// Values outside their range, as errors naming the key (checked before any model work).
    public func validate() throws(ConfigError) {
        func atLeast(_ key: String, _ value: Int, _ low: Int) throws(ConfigError) {
            guard value >= low else { throw ConfigError("\(key): at least \(low), got \(value)") }
        }
        func within(_ key: String, _ value: Double, _ range: ClosedRange<Double>, open low: Bool = false) throws(ConfigError) {
            guard value.isFinite, range.contains(value), !(low && value == range.lowerBound) else {
                throw ConfigError(
                    "\(key): \(low ? "above" : "at least") \(range.lowerBound)\(range.upperBound.isFinite ? " and at most \(range.upperBound)" : ""), got \(value)"
                )
            }
        }
        try atLeast("run.steps", run.steps, 0)
        try atLeast("policy.kept_logits_mib", policy.keptLogitsMiB, 0)
        try atLeast("run.checkpoint_every", run.checkpointEvery, 1)
        try atLeast("run.keep_checkpoints", run.keepCheckpoints, 1)
        try atLeast("run.log_rollouts", run.logRollouts, 0)
        try atLeast("rollout.group_size", rollout.groupSize, 1)
        try atLeast("rollout.questions_per_step", rollout.questionsPerStep, 1)
        try atLeast("rollout.max_new_tokens", rollout.maxNewTokens, 1)
        if let budget = rollout.referenceMaxNewTokens { try atLeast("rollout.reference_max_new_tokens", budget, 1) }
        if let rows = rollout.maxBatchRows { try atLeast("rollout.max_batch_rows", rows, rollout.groupSize) }
        if let problem = RolloutFormat(rollout).problem { throw ConfigError("rollout.\(problem)") }
        if rollout.scaffold == .tags && !rollout.prefill.isEmpty {
            throw ConfigError("rollout.prefill: leave it empty with rollout.scaffold: tags (the scaffold writes the opening <think>)")
        }
        try within("rollout.temperature", rollout.temperature, 0...Double.infinity, open: true)
        try within("rollout.top_p", rollout.topP, 0...1, open: true)
        try atLeast("reward.intent_token_limit", reward.intentTokenLimit, 0)
        try atLeast("reward.overlong_buffer", reward.overlongBuffer, 0)
        if let layer = reward.similarityLayer { try atLeast("reward.similarity_layer", layer, 0) }
        if let limit = data.limit { try atLeast("data.limit", limit, 1) }
        guard !data.domains.isEmpty else { throw ConfigError("data.domains: name at least one domain (art, lifestyle, society)") }
        try atLeast("judge.concurrency", judge.concurrency, 1)
        try atLeast("judge.retry_rounds", judge.retryRounds, 0)
        try atLeast("judge.max_tokens", judge.maxTokens, 1)
        try atLeast("optim.micro_batch", optim.microBatch, 1)
        try atLeast("optim.updates_per_batch", optim.updatesPerBatch, 1)
        for (key, value) in [("optim.lr", optim.lr), ("optim.max_grad_norm", optim.maxGradNorm), ("optim.weight_decay", optim.weightDecay)]
        {
            try within(key, value, 0...Double.infinity)
        }
        try within("optim.warmup_ratio", optim.warmupRatio, 0...1)
        try within("optim.beta1", optim.beta1, 0...1)
        try within("optim.beta2", optim.beta2, 0...1)
        for (key, value) in [("dapo.clip_low", dapo.clipLow), ("dapo.clip_high", dapo.clipHigh), ("dapo.kl_coef", dapo.klCoef)] {
            try within(key, value, 0...Double.infinity)
        }
        try atLeast("dapo.max_extra_rounds", dapo.maxExtraRounds, 0)
        try sft.validate()
        try lora.validate()
        try dist.validate()
        try policy.validateDevice()
        if !policy.decodeSteps.runs(onDevice: policy.device) {
            throw ConfigError(
                "policy.decode_steps: cuda_graphs needs a CUDA device; policy.device is \(policy.device) (use eager or static)")
        }
        if dist.backend == .nccl && !policy.mayUseCUDA {
            throw ConfigError("dist.backend: nccl carries CUDA tensors; policy.device is \(policy.device) (use gloo, or a cuda device)")
        }
        if dist.strategy == .fsdp && lora.r > 0 {
            throw ConfigError(
                "dist.strategy: fsdp shards the whole weights; with LoRA (lora.r > 0) the trained adapters are small: use ddp or zero2")
        }
    }
}
