extension TrainConfig {
    /// `dapo:` — the clipped objective, KL, aggregation, advantages and dynamic sampling
    /// (SPEC-RL.md).
    public struct DAPO: Codable, Sendable, Equatable {
        public var clipLow = 0.2
        /// Clip-higher: the upper ratio bound is 1 + clip_high.
        public var clipHigh = 0.28
        /// Dual clip for negative advantages (off when unset).
        public var dualClip: Double?
        /// β of the k3 KL penalty to the reference policy.
        public var klCoef = 0.001
        public var aggregation = LossAggregation.tokenMean
        public var advantageScaling = AdvantageScaling.group
        public var advantageEps = 1e-6
        /// Drop groups whose rewards are all equal and sample more questions.
        public var dynamicSampling = true
        public var maxExtraRounds = 2
        /// Leave completions cut off by the token budget out of the loss.
        public var maskTruncated = true

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case clipLow = "clip_low"
            case clipHigh = "clip_high"
            case dualClip = "dual_clip"
            case klCoef = "kl_coef"
            case aggregation
            case advantageScaling = "advantage_scaling"
            case advantageEps = "advantage_eps"
            case dynamicSampling = "dynamic_sampling"
            case maxExtraRounds = "max_extra_rounds"
            case maskTruncated = "mask_truncated"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            clipLow = try read(.clipLow, d.clipLow)
            clipHigh = try read(.clipHigh, d.clipHigh)
            dualClip = try read(.dualClip, d.dualClip)
            klCoef = try read(.klCoef, d.klCoef)
            aggregation = try read(.aggregation, d.aggregation)
            advantageScaling = try read(.advantageScaling, d.advantageScaling)
            advantageEps = try read(.advantageEps, d.advantageEps)
            dynamicSampling = try read(.dynamicSampling, d.dynamicSampling)
            maxExtraRounds = try read(.maxExtraRounds, d.maxExtraRounds)
            maskTruncated = try read(.maskTruncated, d.maskTruncated)
        }
    }
}

extension LossAggregation: ConfigChoice {}
extension AdvantageScaling: ConfigChoice {}
