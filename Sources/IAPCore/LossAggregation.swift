/// How per-token losses become one number (SPEC-RL "Aggregation").
public enum LossAggregation: String, Sendable, CaseIterable {
    /// Σ loss·mask / active tokens of the whole optimizer-step batch (DAPO, verl token-mean).
    case tokenMean = "token-mean"
    /// Mean over sequences of each sequence's token mean (GRPO).
    case sequenceMeanTokenMean = "seq-mean-token-mean"
    /// Mean over sequences of each sequence's token sum.
    case sequenceMeanTokenSum = "seq-mean-token-sum"
    /// Σ loss·mask / (sequences × maximum completion length) (Dr. GRPO).
    case drGRPO = "dr-grpo"
}
