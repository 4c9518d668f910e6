/// What one rollout contributes to a step's metrics (plain values, no tensors).
public struct RolloutStats: Codable, Sendable, Equatable {
    public var reward: RewardParts
    public var intentCount: Int
    public var intentTokens: Int
    public var completionTokens: Int
    public var truncated: Bool
    /// A scaffolded rollout with a block that its token budget ended.
    public var budgetEnded: Bool
    /// A block that copies the prompt or repeats a line (the rollout is malformed then).
    public var degeneration: Degeneration?

    public init(
        reward: RewardParts, intentCount: Int, intentTokens: Int, completionTokens: Int, truncated: Bool, budgetEnded: Bool = false,
        degeneration: Degeneration? = nil
    ) {
        self.reward = reward
        self.intentCount = intentCount
        self.intentTokens = intentTokens
        self.completionTokens = completionTokens
        self.truncated = truncated
        self.budgetEnded = budgetEnded
        self.degeneration = degeneration
    }
}

/// What the policy update did. Values are nil when there was no update to measure (every
/// group dropped, every token masked, a non-finite loss): logged as null, not as 0.
public struct UpdateStats: Sendable, Equatable {
    public var loss: Double?
    public var kl: Double?
    public var clipLow: Double?
    public var clipHigh: Double?
    public var entropy: Double?
    public var gradNorm: Double?
    public var learningRate = 0.0
    /// Completion tokens the loss covered (after masking truncated completions).
    public var learnedTokens = 0.0
    public var skipped = false

    public init() {}
}

/// Seconds spent in each phase of a step.
public struct PhaseTimes: Sendable, Equatable {
    public var generation = 0.0, reference = 0.0, judge = 0.0, similarity = 0.0, update = 0.0
    public init() {}
}

/// One IAP step's metrics, as metrics.jsonl and TensorBoard name them.
public struct StepMetrics: Sendable, Equatable {
    public var step: Int
    /// Every rollout sampled this step (kept groups and dropped ones).
    public var rollouts: [RolloutStats]
    public var sampledGroups: Int
    public var zeroSpreadGroups: Int
    public var keptGroups: Int
    public var samplingRounds: Int
    public var update: UpdateStats
    public var times: PhaseTimes
    /// Figures only some runs have (the parallel strategy's, e.g. `dist/overlapped_blocks`).
    public var extra: [String: Double] = [:]

    public init(
        step: Int, rollouts: [RolloutStats], sampledGroups: Int, zeroSpreadGroups: Int, keptGroups: Int, samplingRounds: Int,
        update: UpdateStats, times: PhaseTimes
    ) {
        self.step = step
        self.rollouts = rollouts
        self.sampledGroups = sampledGroups
        self.zeroSpreadGroups = zeroSpreadGroups
        self.keptGroups = keptGroups
        self.samplingRounds = samplingRounds
        self.update = update
        self.times = times
    }

    /// The named scalars (means over the step's rollouts; the reward parts over the
    /// well-formed ones where only they have them).
    public var line: MetricsLine {
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let valid = rollouts.filter(\.reward.valid)
        return MetricsLine(
            step: step,
            values: [
                ("reward/mean", mean(rollouts.map(\.reward.total))),
                ("reward/personalization", mean(rollouts.compactMap(\.reward.personalization))),
                ("reward/similarity", mean(valid.compactMap(\.reward.similarity))),
                ("reward/reference_score", mean(valid.compactMap(\.reward.referenceScore))),
                ("reward/contrast", mean(valid.map(\.reward.contrast))),
                ("reward/length_penalty", mean(valid.map(\.reward.lengthPenalty))),
                ("reward/overlong", mean(rollouts.map(\.reward.overlong))),
                ("format/valid_fraction", rollouts.isEmpty ? 0 : Double(valid.count) / Double(rollouts.count)),
                ("format/budget_ended_fraction", mean(rollouts.map { $0.budgetEnded ? 1 : 0 })),
                ("format/copied_prompt_fraction", mean(rollouts.map { $0.degeneration == .copiesPrompt ? 1 : 0 })),
                ("format/repeated_lines_fraction", mean(rollouts.map { $0.degeneration == .repeatedLines ? 1 : 0 })),
                ("intent/count", mean(valid.map { Double($0.intentCount) })),
                ("intent/tokens", mean(valid.map { Double($0.intentTokens) })),
                ("response/tokens", mean(rollouts.map { Double($0.completionTokens) })),
                ("response/truncated_fraction", mean(rollouts.map { $0.truncated ? 1 : 0 })),
                ("update/learned_tokens", update.learnedTokens),
                ("dapo/zero_spread_fraction", sampledGroups == 0 ? 0 : Double(zeroSpreadGroups) / Double(sampledGroups)),
                ("dapo/groups_kept", Double(keptGroups)), ("dapo/sampling_rounds", Double(samplingRounds)),
                ("policy/kl", update.kl), ("policy/clip_low", update.clipLow), ("policy/clip_high", update.clipHigh),
                ("policy/entropy", update.entropy), ("policy/grad_norm", update.gradNorm), ("policy/loss", update.loss),
                ("policy/skipped_update", update.skipped ? 1 : 0), ("optim/lr", update.learningRate),
                ("time/generation", times.generation), ("time/reference", times.reference), ("time/judge", times.judge),
                ("time/similarity", times.similarity), ("time/update", times.update),
            ] + extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
