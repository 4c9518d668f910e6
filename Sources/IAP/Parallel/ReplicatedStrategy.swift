import IAPCore
import Torch
import Transformers

/// `ddp`: every rank holds the whole weights and optimizer; gradients are summed over the
/// ranks in buckets — block by block during the last backward pass of an update when
/// `dist.overlap_backward` (`OverlappedGradientSum`; with or without gradient checkpointing),
/// the rest after it.
public final class ReplicatedStrategy: ParallelStrategy {
    public let ranks: DataParallel
    let group: ProcessGroup
    let adamW: AdamW
    public let trainingPass: TrainingPass
    /// The gradient sum overlapping the backward pass, when on.
    let overlap: OverlappedGradientSum?

    init(ranks: DataParallel, group: ProcessGroup, policy: CausalLM, optimizer: AdamW, pass: TrainingPass, overlaps: Bool) {
        self.ranks = ranks
        self.group = group
        adamW = optimizer
        // Full fine-tuning only: a LoRA model's trained adapters are small, one bucket sums them.
        overlap =
            overlaps && policy.lora == nil
            ? OverlappedGradientSum(group: group, parameters: policy.parameters, blockCount: policy.config.layerCount) : nil
        var pass = pass
        if let overlap { pass.blockHooks = overlap }
        trainingPass = pass
    }

    public var optimizer: any Optimizer { adamW }

    /// With overlapped sums every rank runs an armed backward pass, so a rank with no
    /// micro-batch runs one that learns nothing.
    public func lockStepBatchCount(_ count: Int) throws -> Int { overlap != nil ? max(count, 1) : count }

    public func armGradientSum() { overlap?.arm() }

    public func reduceAndClip(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        if let overlap {
            try overlap.finish { try ranks.bucketedSum($0) }
        } else {
            try ranks.bucketedSum(parameters)
        }
        return try clipGradientNorm(parameters, maxNorm: maxNorm)
    }

    public func dropPendingSums() throws { try overlap?.discard() }

    /// `dist/overlapped_blocks`: blocks whose gradient sum started during the last update's
    /// backward pass (the others started after it).
    public var updateMetrics: [String: Double] {
        guard let overlap else { return [:] }
        return ["dist/overlapped_blocks": Double(overlap.lastOverlapped)]
    }

    public func checkpointFiles(run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? { ranks.isMain ? .whole(adamW) : nil }

    public func restoreOptimizer(from folder: String) throws { try OptimizerCheckpoint.restoreWhole(adamW, from: folder) }
}
