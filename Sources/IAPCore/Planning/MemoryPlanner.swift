import ModelFormats

/// The arithmetic of `iap plan` (every formula in docs/plan.md): what one rank holds while a
/// training step runs, from the policy's architecture (its config.json: no weights needed)
/// and the training config. Pure: the same figures on a laptop as on the cluster.
///
/// A step has two phases whose transient memory does not overlap: generation (rollouts and
/// reference answers: the KV cache, under fsdp the whole weights gathered) and the policy
/// update (activations of one micro-batch, kept logits, under zero2 the whole gradients).
/// Peak = what is always held + the larger phase.
public struct MemoryPlanner: Sendable {
    public var shape: CausalLMConfig
    public var modelName: String
    public var config: TrainConfig
    public var ranks = 1
    /// Memory of one GPU (or the machine's, on the CPU).
    public var memoryBytes: Int
    /// Tokens of a rollout's prompt (instruction, question, narrative); LaMP-QA's run 600–1,000.
    public var promptTokens = 1024
    public var onGPU: Bool
    /// Held before any tensor: libtorch's code and allocator; on a GPU the CUDA context and
    /// the libraries' workspaces (measured: docs/plan.md).
    public var runtimeBytes: Int

    public init(shape: CausalLMConfig, modelName: String, config: TrainConfig, memoryBytes: Int, onGPU: Bool) {
        self.shape = shape
        self.modelName = modelName
        self.config = config
        self.memoryBytes = memoryBytes
        self.onGPU = onGPU
        runtimeBytes = onGPU ? Self.gpuRuntimeBytes : Self.cpuRuntimeBytes
    }

    public static let cpuRuntimeBytes = 200 << 20
    public static let gpuRuntimeBytes = 1536 << 20

    /// The config's own strategy.
    public func plan() -> MemoryPlan { plan(strategy: config.dist.strategy, lora: config.lora.r > 0) }

    /// The config's plan and every strategy's verdict (fsdp with LoRA is not offered: the
    /// adapters are not sharded).
    public func report() -> PlanReport {
        var verdicts: [PlanReport.Verdict] = []
        for lora in [false, true] {
            for strategy in DistStrategy.allCases where !(lora && strategy == .fsdp) {
                let p = plan(strategy: strategy, lora: lora)
                verdicts.append(.init(strategy: strategy, lora: lora, peakBytes: p.peakBytes, fits: p.fits))
            }
        }
        return PlanReport(plan: plan(), strategies: verdicts)
    }

    public func plan(strategy: DistStrategy, lora: Bool) -> MemoryPlan {
        let sizes = Sizes(planner: self, strategy: strategy, lora: lora)
        let terms =
            [MemoryPlan.Term(name: "runtime", phase: .always, bytes: runtimeBytes, formula: onGPU ? "CUDA context, libraries" : "libtorch")]
            + sizes.resident() + sizes.generation() + sizes.update()
        func total(_ phase: MemoryPlan.Phase) -> Int { terms.filter { $0.phase == phase }.reduce(0) { $0 + $1.bytes } }
        let peak = total(.always) + max(total(.rollout), total(.update))
        return MemoryPlan(
            model: modelName, parameters: shape.parameterCount, trainedParameters: sizes.trained, strategy: strategy, lora: lora,
            ranks: ranks, memoryBytes: memoryBytes, terms: terms, rolloutPeakBytes: total(.always) + total(.rollout),
            updatePeakBytes: total(.always) + total(.update), peakBytes: peak, freeBytes: memoryBytes - peak, fits: peak <= memoryBytes)
    }
}
