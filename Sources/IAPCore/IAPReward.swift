/// The IAP reward (paper eq. 1) and its parts, for one rollout:
///
///     r          = λ1·r_pers − λ2·r_contrast − λ3·r_length  (+ overlong punishment)
///     r_contrast = λ·sim(ŷ, ȳ) + max(0, μ(ȳ) − μ(ŷ))
///     r_length   = max(0, |intent tokens| − L)
///
/// ŷ is the rollout's `<answer>`, ȳ the reference policy's intent-free answer to the same
/// question, μ the rubric judge's score, sim BERTScore F1 (or ROUGE-L F). Defaults are the
/// released code's λ1 = 1.0, λ2 = 0.1, λ3 = 0.01 with L = 400 tokens (the paper's limit);
/// λ = 1. λ3 multiplies the count of intent tokens beyond L, so 100 extra tokens cost 1.0.
public struct RewardSettings: Sendable, Equatable {
    public enum Malformed: Sendable, Equatable {
        /// A fixed reward for rollouts that break the format.
        case fixed(Double)
        /// The lowest reward among the group's well-formed rollouts minus `margin`
        /// (`fallback` when the whole group is malformed).
        case groupMinimum(margin: Double, fallback: Double)
        /// λ1 × the rubric score of the whole completion (tags removed) minus `penalty`:
        /// keeps a learning signal for policies too small to produce the format at first
        /// (the CPU demo); the format is still rewarded, by `penalty`.
        case judgedMinus(penalty: Double)
    }
    public var personalization = 1.0  // λ1
    public var contrast = 0.1  // λ2
    public var length = 0.01  // λ3
    public var similarityWeight = 1.0  // λ
    public var intentTokenLimit = 400  // L
    /// Default: a fixed −1, below any well-formed rollout's reward unless its intent overruns
    /// the limit by more than ~100 tokens; simple to reason about and group-independent.
    public var malformed = Malformed.fixed(-1)
    /// DAPO soft overlong punishment on the whole completion (max length, buffer), off by default.
    public var overlong: (maxLength: Int, buffer: Int)?

    public init() {}

    public static func == (a: RewardSettings, b: RewardSettings) -> Bool {
        a.personalization == b.personalization && a.contrast == b.contrast && a.length == b.length
            && a.similarityWeight == b.similarityWeight && a.intentTokenLimit == b.intentTokenLimit && a.malformed == b.malformed
            && a.overlong?.maxLength == b.overlong?.maxLength && a.overlong?.buffer == b.overlong?.buffer
    }
}

/// Every part of one rollout's reward, for logging.
public struct RewardParts: Codable, Sendable, Equatable {
    public var valid: Bool
    public var personalization: Double?  // μ(ŷ)
    public var similarity: Double?  // sim(ŷ, ȳ)
    public var referenceScore: Double?  // μ(ȳ)
    public var contrast: Double
    public var lengthPenalty: Double
    public var overlong: Double
    public var total: Double

    public init(
        valid: Bool, personalization: Double? = nil, similarity: Double? = nil, referenceScore: Double? = nil, contrast: Double,
        lengthPenalty: Double,
        overlong: Double, total: Double
    ) {
        self.valid = valid
        self.personalization = personalization
        self.similarity = similarity
        self.referenceScore = referenceScore
        self.contrast = contrast
        self.lengthPenalty = lengthPenalty
        self.overlong = overlong
        self.total = total
    }
}

public enum IAPReward {
    /// The reward of a well-formed rollout.
    public static func compose(
        personalization: Double, similarity: Double, referenceScore: Double, intentTokens: Int, completionTokens: Int,
        settings: RewardSettings
    ) -> RewardParts {
        let contrast = settings.similarityWeight * similarity + max(0, referenceScore - personalization)
        let excess = Double(max(0, intentTokens - settings.intentTokenLimit))
        let overlong = settings.overlong.map { overlongPenalty(length: completionTokens, maxLength: $0.maxLength, buffer: $0.buffer) } ?? 0
        let total = settings.personalization * personalization - settings.contrast * contrast - settings.length * excess + overlong
        return RewardParts(
            valid: true, personalization: personalization, similarity: similarity, referenceScore: referenceScore, contrast: contrast,
            lengthPenalty: excess, overlong: overlong, total: total)
    }

    /// Fills in the rewards of malformed rollouts (nil entries) for one group;
    /// `wholeTextScores[i]` is the judge's score of rollout i's whole text (needed by
    /// `.judgedMinus` only).
    public static func finishGroup(
        _ parts: [RewardParts?], completionTokens: [Int], settings: RewardSettings, wholeTextScores: [Double?] = []
    ) -> [RewardParts] {
        let validTotals = parts.compactMap { $0?.total }
        return parts.enumerated().map { i, p in
            if let p { return p }
            let overlong =
                settings.overlong.map { overlongPenalty(length: completionTokens[i], maxLength: $0.maxLength, buffer: $0.buffer) } ?? 0
            let base: Double
            switch settings.malformed {
            case .fixed(let value): base = value
            case .groupMinimum(let margin, let fallback): base = validTotals.min().map { $0 - margin } ?? fallback
            case .judgedMinus(let penalty):
                let score = i < wholeTextScores.count ? (wholeTextScores[i] ?? 0) : 0
                return RewardParts(
                    valid: false, personalization: score, similarity: nil, referenceScore: nil, contrast: 0, lengthPenalty: 0,
                    overlong: overlong,
                    total: settings.personalization * score - penalty + overlong)
            }
            return RewardParts(
                valid: false, personalization: nil, similarity: nil, referenceScore: nil, contrast: 0, lengthPenalty: 0, overlong: overlong,
                total: base + overlong)
        }
    }
}
