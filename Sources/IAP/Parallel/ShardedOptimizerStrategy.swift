import IAPCore
import Torch
import Transformers

/// `zero2`: every rank holds the whole weights but only its shard of the optimizer's state;
/// gradients are reduce-scattered into the shards, each rank steps its shard and the updated
/// weights are gathered. A checkpoint collects every rank's shard.
public final class ShardedOptimizerStrategy: ParallelStrategy {
    public let ranks: DataParallel
    let sharded: ShardedAdamW
    public let trainingPass: TrainingPass

    init(ranks: DataParallel, group: ProcessGroup, optimizer: AdamW, pass: TrainingPass) {
        self.ranks = ranks
        sharded = ShardedAdamW(parameters: optimizer.parameters, group: group, rule: optimizer, bucketElements: ranks.bucketElements)
        trainingPass = pass
    }

    public var optimizer: any Optimizer { sharded }

    public func reduceAndClip(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        try sharded.reduceGradients()
        return try sharded.clipGradientNorm(maxNorm: maxNorm)
    }

    public func checkpointFiles(run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? {
        try OptimizerCheckpoint.stageShard(sharded, ranks: ranks, run: run)
    }

    public func restoreOptimizer(from folder: String) throws { try OptimizerCheckpoint.restoreShard(sharded, from: folder) }
}
