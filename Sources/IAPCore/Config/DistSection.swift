extension TrainConfig {
    /// `dist:` — training over several processes (`iap train --nproc-per-node N`, or one rank
    /// of a job started by torchrun or srun): PyTorch's c10d, Gloo between CPU processes.
    public struct Dist: Codable, Sendable, Equatable {
        /// How the ranks share the work. Every rank takes its share of each step's questions.
        /// `ddp`: every rank holds the whole model and optimizer; the gradients are summed
        /// across ranks before the (identical) optimizer step. `zero2`: every rank holds the
        /// whole model but only its 1/N of AdamW's moments and float32 master weights; the
        /// gradients are reduce-scattered, each rank updates its shard, and the updated
        /// shards are all-gathered into every rank's weights. `fsdp` (`iap train`): the
        /// weights are sharded too; each decoder block is all-gathered just before it runs
        /// (and again for gradient checkpointing's recompute) and freed after, its gradient
        /// reduce-scattered when its backward pass is done; the whole model is gathered for
        /// generation and saving.
        public var strategy = DistStrategy.ddp
        /// Which c10d backend carries the collectives: `gloo` (CPU tensors; CUDA tensors go
        /// through host memory) or `nccl` (CUDA tensors stay on the GPU; needs iap's NCCL
        /// plugin, gpu/libiap_nccl.so from `make gpu-bundle`, beside the iap binary or at
        /// $IAP_NCCL_PLUGIN, and `policy.device: cuda`).
        public var backend = DistBackend.gloo
        /// A collective (or the rendezvous) that has not finished after this many seconds
        /// fails: a rank that died or hangs stops the others instead of hanging them.
        public var timeoutS = 1800.0
        /// Gradients are summed across ranks in flat buckets of about this size.
        public var bucketMiB = 25
        /// `ddp` with gradient checkpointing: each decoder block's gradient sum starts as soon
        /// as its backward pass is done (in the update's last micro-batch), overlapping the
        /// rest of the backward pass; off sums every gradient after it.
        public var overlapBackward = true

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case strategy
            case backend
            case timeoutS = "timeout_s"
            case bucketMiB = "bucket_mib"
            case overlapBackward = "overlap_backward"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            strategy = try read(.strategy, d.strategy)
            backend = try read(.backend, d.backend)
            timeoutS = try read(.timeoutS, d.timeoutS)
            bucketMiB = try read(.bucketMiB, d.bucketMiB)
            overlapBackward = try read(.overlapBackward, d.overlapBackward)
        }

        func validate() throws(ConfigError) {
            guard timeoutS.isFinite, timeoutS > 0 else { throw ConfigError("dist.timeout_s: above 0, got \(timeoutS)") }
            guard bucketMiB >= 1 else { throw ConfigError("dist.bucket_mib: at least 1, got \(bucketMiB)") }
        }
    }
}

/// `dist.strategy`: data parallelism with replicated weights and optimizer (`ddp`), with
/// AdamW's state sharded (`zero2`), or with the weights sharded too (`fsdp`).
public enum DistStrategy: String, ConfigChoice {
    case ddp
    case zero2
    case fsdp
}

/// `dist.backend`: c10d's Gloo (CPU) or NCCL (CUDA) process groups.
public enum DistBackend: String, ConfigChoice {
    case gloo
    case nccl
}
