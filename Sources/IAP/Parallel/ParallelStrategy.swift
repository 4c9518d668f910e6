import IAPCore
import Torch
import Transformers

/// How the ranks of a job share a training step's state and work (`dist.strategy`): each
/// strategy owns its optimizer (AdamW over the whole weights, or this rank's shard of it),
/// the reduction and clipping of gradients, the micro-batches its collectives need every
/// rank to run, the whole weights a pass sees, and its checkpoint files. The trainers make
/// these calls and know no strategy by name (`DataParallel.strategy(…)` picks one).
///
/// An update runs: `beginUpdate`, then per pass over the micro-batches `optimizer.zeroGrad`,
/// `beginAccumulation`, the forward and backward passes (`armGradientSum` before the last),
/// `reduceAndClip` (or `dropPendingSums` when a loss was not finite), `optimizer.step`; and
/// `endUpdate` whatever happened.
public protocol ParallelStrategy: AnyObject {
    /// The job's ranks: shares of a batch, sums and gathers.
    var ranks: DataParallel { get }
    /// The optimizer the trainer steps.
    var optimizer: any Optimizer { get }
    /// How the policy's passes with autograd run (the strategy's block hooks added).
    var trainingPass: TrainingPass { get }
    /// Whether the reference model's passes are collectives every rank must take part in.
    var referencePassesAreCollective: Bool { get }

    /// `body` with the policy's weights whole (a generation, a checkpoint).
    func withWholePolicy<R>(_ body: () throws -> R) throws -> R
    /// `body` with the frozen reference's weights whole.
    func withWholeReference<R>(_ body: () throws -> R) throws -> R

    /// How many micro-batches this rank runs in an update where it has `count` of its own:
    /// more (ones that learn nothing) when every rank must run as many passes as the others.
    func lockStepBatchCount(_ count: Int) throws -> Int
    /// Before an update's passes; `reference`: the reference model's passes come too.
    func beginUpdate(reference: Bool) throws
    /// Before each pass over the micro-batches that accumulates gradients.
    func beginAccumulation() throws
    /// The next backward pass is the update's last.
    func armGradientSum()
    /// The gradient summed over the ranks and clipped to `maxNorm`; its norm before clipping.
    func reduceAndClip(_ parameters: [Tensor], maxNorm: Double) throws -> Double
    /// An update dropped before its gradients were summed: sums in flight are waited for.
    func dropPendingSums() throws
    /// After an update, however it ended: weights gathered for it are freed.
    func endUpdate() throws

    /// Called by every rank when a checkpoint is due; what rank 0 writes of the optimizer,
    /// nil on the other ranks.
    func checkpointFiles(run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles?
    /// The optimizer's state from a checkpoint folder.
    func restoreOptimizer(from folder: String) throws
    /// Figures of the last update the strategy adds to the step's metrics.
    var updateMetrics: [String: Double] { get }
}

extension ParallelStrategy {
    public var referencePassesAreCollective: Bool { false }
    public func withWholePolicy<R>(_ body: () throws -> R) throws -> R { try body() }
    public func withWholeReference<R>(_ body: () throws -> R) throws -> R { try body() }
    public func lockStepBatchCount(_ count: Int) throws -> Int { count }
    public func beginUpdate(reference: Bool) throws {}
    public func beginAccumulation() throws {}
    public func armGradientSum() {}
    public func dropPendingSums() throws {}
    public func endUpdate() throws {}
    public var updateMetrics: [String: Double] { [:] }
}

extension DataParallel {
    /// The strategy `dist.strategy` names for these ranks (one process: `SingleProcess`),
    /// training `policy` with `optimizer`; `reference`, when it is a model of its own, is
    /// sharded like the policy under `fsdp`. `pass`: how the policy's passes run.
    /// `lockStepped`: the trainer runs `lockStepBatchCount` micro-batches and arms the last
    /// backward pass, so `ddp` may sum gradients during it (`dist.overlap_backward`).
    public func strategy(policy: CausalLM, reference: CausalLM?, optimizer: AdamW, pass: TrainingPass, lockStepped: Bool = true) throws
        -> any ParallelStrategy
    {
        guard let group else { return SingleProcess(optimizer: optimizer, pass: pass) }
        switch strategy {
        case .ddp:
            return ReplicatedStrategy(
                ranks: self, group: group, policy: policy, optimizer: optimizer, pass: pass, overlaps: lockStepped && overlapsBackward)
        case .zero2: return ShardedOptimizerStrategy(ranks: self, group: group, optimizer: optimizer, pass: pass)
        case .fsdp:
            return try FullyShardedStrategy(
                ranks: self, group: group, policy: policy, reference: reference, optimizer: optimizer, pass: pass)
        }
    }
}
