/// What `iap plan` says about a config: per GPU (or per process on the CPU), every term of
/// the memory a training step needs, in bytes, with the formula it came from
/// (docs/plan.md), the peak of the step's two phases, and whether it fits.
public struct MemoryPlan: Codable, Sendable, Equatable {
    /// When a term is held: all the time, while generating (rollouts and reference answers),
    /// or while updating the policy (forward and backward of a micro-batch).
    public enum Phase: String, Codable, Sendable {
        case always, rollout, update
    }

    public struct Term: Codable, Sendable, Equatable {
        public var name: String
        public var phase: Phase
        public var bytes: Int
        public var formula: String
    }

    public var model: String
    public var parameters: Int
    /// Trained parameters: all of them, or the LoRA adapters'.
    public var trainedParameters: Int
    public var strategy: DistStrategy
    public var lora: Bool
    public var ranks: Int
    public var memoryBytes: Int
    public var terms: [Term]
    public var rolloutPeakBytes: Int
    public var updatePeakBytes: Int
    public var peakBytes: Int
    /// `memoryBytes − peakBytes`: negative when it does not fit.
    public var freeBytes: Int
    public var fits: Bool

    enum CodingKeys: String, CodingKey {
        case model, parameters, strategy, lora, ranks, terms, fits
        case trainedParameters = "trained_parameters"
        case memoryBytes = "memory_bytes"
        case rolloutPeakBytes = "rollout_peak_bytes"
        case updatePeakBytes = "update_peak_bytes"
        case peakBytes = "peak_bytes"
        case freeBytes = "free_bytes"
    }

    /// The largest terms first, for messages ("does not fit: weights 15.2 GB, …").
    public func biggestTerms(_ count: Int = 3) -> [Term] { Array(terms.sorted { $0.bytes > $1.bytes }.prefix(count)) }
}

/// `iap plan --json`: the config's own plan and each strategy's verdict on the same GPUs.
public struct PlanReport: Codable, Sendable, Equatable {
    public struct Verdict: Codable, Sendable, Equatable {
        public var strategy: DistStrategy
        public var lora: Bool
        public var peakBytes: Int
        public var fits: Bool
        enum CodingKeys: String, CodingKey {
            case strategy, lora, fits
            case peakBytes = "peak_bytes"
        }
    }

    public var plan: MemoryPlan
    public var strategies: [Verdict]
}
