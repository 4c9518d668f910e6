extension TrainConfig {
    /// `optim:` — AdamW, the learning-rate schedule and how a batch is split.
    public struct Optim: Codable, Sendable, Equatable {
        public var lr = 1e-5
        /// Linear warm-up over this fraction of the steps.
        public var warmupRatio = 0.285
        public var schedule = LearningRateSchedule.Shape.constant
        public var weightDecay = 0.0
        public var beta1 = 0.9
        public var beta2 = 0.999
        public var maxGradNorm = 1.0
        /// μ: updates per sampled batch.
        public var updatesPerBatch = 1
        /// Sequences per forward/backward (gradients accumulate).
        public var microBatch = 4
        /// Compute each group's prompt once in the training forward.
        public var sharePrompt = true
        /// float32 master weights and moments for bfloat16/float16 parameters.
        public var masterWeights = true
        /// Mixed precision for the training forward and backward passes: matmuls and
        /// attention in bfloat16 or float16 through libtorch's autocast, float32 weights,
        /// gradients and optimizer state (`off`: every op in the weights' dtype).
        public var autocast = AutocastMode.off

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case lr
            case warmupRatio = "warmup_ratio"
            case schedule
            case weightDecay = "weight_decay"
            case beta1, beta2
            case maxGradNorm = "max_grad_norm"
            case updatesPerBatch = "updates_per_batch"
            case microBatch = "micro_batch"
            case sharePrompt = "share_prompt"
            case masterWeights = "master_weights"
            case autocast
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            lr = try read(.lr, d.lr)
            warmupRatio = try read(.warmupRatio, d.warmupRatio)
            schedule = try read(.schedule, d.schedule)
            weightDecay = try read(.weightDecay, d.weightDecay)
            beta1 = try read(.beta1, d.beta1)
            beta2 = try read(.beta2, d.beta2)
            maxGradNorm = try read(.maxGradNorm, d.maxGradNorm)
            updatesPerBatch = try read(.updatesPerBatch, d.updatesPerBatch)
            microBatch = try read(.microBatch, d.microBatch)
            sharePrompt = try read(.sharePrompt, d.sharePrompt)
            masterWeights = try read(.masterWeights, d.masterWeights)
            autocast = try read(.autocast, d.autocast)
        }

        /// Warm-up, then the schedule's shape, over `totalSteps`.
        public func learningRateSchedule(totalSteps: Int) -> LearningRateSchedule {
            LearningRateSchedule(base: lr, warmupRatio: warmupRatio, totalSteps: totalSteps, shape: schedule)
        }
    }
}

extension LearningRateSchedule.Shape: ConfigChoice {}

/// `optim.autocast`: the reduced precision of the training passes' matmuls, or `off`.
public enum AutocastMode: String, ConfigChoice {
    case bfloat16, float16, off
}
