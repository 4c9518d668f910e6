import IAPCore
import Torch
import Transformers

/// `fsdp`: each rank holds its shard of the weights and of the optimizer's state; a block's
/// weights are gathered when it runs and freed after (its gradient reduce-scattered after its
/// backward pass), so every rank must run as many passes as the others. The frozen reference
/// is sharded the same way. Whole-model work (generation, checkpoints) gathers everything.
public final class FullyShardedStrategy: ParallelStrategy {
    public let ranks: DataParallel
    let policy: FullyShardedModel
    let reference: FullyShardedModel?
    public let trainingPass: TrainingPass

    init(ranks: DataParallel, group: ProcessGroup, policy: CausalLM, reference: CausalLM?, optimizer: AdamW, pass: TrainingPass) throws {
        self.ranks = ranks
        self.policy = try FullyShardedModel(model: policy, group: group, rule: optimizer)
        self.reference = try reference.map { (model) throws(TorchError) in try FullyShardedModel(frozen: model, group: group) }
        trainingPass = pass
    }

    public var optimizer: any Optimizer { policy.optimizer }
    public var referencePassesAreCollective: Bool { reference != nil }

    public func withWholePolicy<R>(_ body: () throws -> R) throws -> R { try policy.withWholeModel(body) }

    public func withWholeReference<R>(_ body: () throws -> R) throws -> R {
        guard let reference else { return try body() }
        return try reference.withWholeModel(body)
    }

    /// The most micro-batches any rank has.
    public func lockStepBatchCount(_ count: Int) throws -> Int { try ranks.gather([count]).max() ?? count }

    public func beginUpdate(reference withReference: Bool) throws {
        try policy.prepareUpdate()
        if withReference { try reference?.prepareUpdate() }
    }

    public func beginAccumulation() throws { try policy.prepareUpdate() }

    public func reduceAndClip(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        try policy.optimizer.reduceGradients()
        return try policy.optimizer.clipGradientNorm(maxNorm: maxNorm)
    }

    public func endUpdate() throws {
        do { try policy.optimizer.releaseAll() } catch {
            try? reference?.optimizer.releaseAll()
            throw error
        }
        try reference?.optimizer.releaseAll()
    }

    public func checkpointFiles(run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? {
        try OptimizerCheckpoint.stageShard(policy.optimizer, ranks: ranks, run: run)
    }

    public func restoreOptimizer(from folder: String) throws { try OptimizerCheckpoint.restoreShard(policy.optimizer, from: folder) }
}
