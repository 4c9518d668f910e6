extension TrainConfig {
    /// `run:` — the run's name, seed, length and what it keeps.
    public struct Run: Codable, Sendable, Equatable {
        /// Folder name under runs/ when --run-dir is not given.
        public var name = "iap"
        public var seed = 0
        /// Optimizer steps.
        public var steps = 12
        public var checkpointEvery = 4
        /// Newest checkpoints kept (older ones are removed).
        public var keepCheckpoints = 2
        /// Rollouts per step written to rollouts.jsonl.
        public var logRollouts = 10
        /// PyTorch's deterministic algorithms: on a GPU, a run repeats exactly and a resumed
        /// run continues exactly as the uninterrupted one would, at some speed cost (CUDA's
        /// atomic-add kernels otherwise make two runs drift apart). The CPU is deterministic
        /// either way.
        public var deterministic = false

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, seed, steps
            case checkpointEvery = "checkpoint_every"
            case keepCheckpoints = "keep_checkpoints"
            case logRollouts = "log_rollouts"
            case deterministic
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            name = try read(.name, d.name)
            seed = try read(.seed, d.seed)
            steps = try read(.steps, d.steps)
            checkpointEvery = try read(.checkpointEvery, d.checkpointEvery)
            keepCheckpoints = try read(.keepCheckpoints, d.keepCheckpoints)
            logRollouts = try read(.logRollouts, d.logRollouts)
            deterministic = try read(.deterministic, d.deterministic)
        }
    }
}
