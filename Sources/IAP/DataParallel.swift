import Foundation
import IAPCore
import Torch
import Transformers

/// The ranks of a data-parallel job as a trainer sees them (`dist.strategy`): which
/// share of a step's questions is this rank's, and the collectives that make every rank's
/// update the one a single process would make over the whole batch. Without a group (one
/// process) every call is the identity, so the trainer has one code path.
public final class DataParallel: @unchecked Sendable {
    public let group: ProcessGroup?
    public let strategy: DistStrategy
    let bucketElements: Int
    /// `dist.overlap_backward`.
    let overlapsBackward: Bool

    public init(group: ProcessGroup?, strategy: DistStrategy = .ddp, bucketMiB: Int = 25, overlapsBackward: Bool = true) {
        self.overlapsBackward = overlapsBackward
        self.group = group
        self.strategy = strategy
        bucketElements = max(1, bucketMiB) * (1 << 20) / 4
    }

    public static let single = DataParallel(group: nil)

    public var rank: Int { group?.rank ?? 0 }
    public var worldSize: Int { group?.worldSize ?? 1 }
    /// The rank that writes the run's files (metrics, rollouts, checkpoints, TensorBoard).
    public var isMain: Bool { rank == 0 }

    /// This rank's contiguous slice of `items` (sizes differ by at most one, earlier ranks
    /// take the larger ones), and where it starts: ranks in order concatenate to `items`.
    public func share<T>(_ items: [T]) -> (items: [T], start: Int) {
        let base = items.count / worldSize, extra = items.count % worldSize
        let start = rank * base + min(rank, extra)
        let count = base + (rank < extra ? 1 : 0)
        return (Array(items[start..<(start + count)]), start)
    }

    /// Element-wise sums of `values` over the ranks (float64).
    public func sum(_ values: [Double]) throws -> [Double] {
        guard let group, !values.isEmpty else { return values }
        let t = try Tensor(values, shape: [values.count])
        try group.allReduce(t)
        return try t.toArray(Double.self)
    }

    /// Every rank's `items`, in rank order (JSON on the wire).
    public func gather<T: Codable>(_ items: [T]) throws -> [T] {
        guard let group else { return items }
        let parts = try group.allGatherBytes(Array(try JSONEncoder().encode(items)))
        return try parts.flatMap { try JSONDecoder().decode([T].self, from: Data($0)) }
    }

    /// The block-by-block gradient sum overlapping the backward pass, when installed
    /// (`overlapBackward(of:)`).
    private(set) var overlap: OverlappedGradientSum?

    /// Under `ddp` on several ranks, with gradient checkpointing (`pass`): the overlapped
    /// gradient sum of `model`'s trained parameters, which the training passes tell as each
    /// block's backward pass ends (`TrainingPass.blockHooks`); nil otherwise.
    func overlapBackward(of model: CausalLM, pass: TrainingPass) -> OverlappedGradientSum? {
        guard overlapsBackward, strategy == .ddp, let group, pass.gradientCheckpointing, model.lora == nil else { return nil }
        let overlap = OverlappedGradientSum(group: group, parameters: model.parameters, blockCount: model.config.layerCount)
        self.overlap = overlap
        return overlap
    }

    /// The next backward pass is the update's last (see `OverlappedGradientSum`).
    func armGradientSum() { overlap?.arm() }

    /// Sums each tensor's gradient over the ranks: block by block as the backward pass went
    /// when overlapped, the rest (or everything) after it.
    public func sumGradients(_ parameters: [Tensor]) throws {
        guard let overlap else { return try bucketedSum(parameters) }
        try overlap.finish { try bucketedSum($0) }
    }

    /// An update dropped before its gradients were summed: sums in flight are waited for.
    func dropPendingSums() throws { try overlap?.discard() }

    /// Sums each tensor's gradient over the ranks, in flat buckets of about `dist.bucket_mib`
    /// per dtype and device (one collective per bucket instead of one per tensor). A tensor
    /// with no gradient contributes zeros, so every rank sends the same buckets.
    func bucketedSum(_ parameters: [Tensor]) throws {
        guard let group else { return }
        var bucket: [(Tensor, Tensor)] = []
        var elements = 0
        func flush() throws {
            guard !bucket.isEmpty else { return }
            let flat = try Tensor.cat(try bucket.map { try $0.1.reshape([-1]) })
            try group.allReduce(flat)
            var offset = 0
            for (parameter, grad) in bucket {
                try grad.copy_(try flat.narrow(dim: 0, start: offset, length: grad.count).reshape(grad.shape))
                offset += grad.count
                if parameter.grad == nil { try parameter.setGrad(grad) }
            }
            bucket.removeAll()
            elements = 0
        }
        for p in parameters {
            let grad = try p.grad ?? Tensor.zeros(p.shape, dtype: p.dtype, device: p.device)
            if let last = bucket.last?.1, last.dtype != grad.dtype || last.device != grad.device || elements + grad.count > bucketElements {
                try flush()
            }
            bucket.append((p, grad))
            elements += grad.count
        }
        try flush()
    }

    /// The loss sums of every rank added up; nil on every rank when any rank's loss was not
    /// finite (so all ranks skip the same update).
    func sumLosses(_ local: IAPTrainer.LossSums?) throws -> IAPTrainer.LossSums? {
        guard group != nil else { return local }
        let s = local ?? IAPTrainer.LossSums()
        let total = try sum([local == nil ? 1 : 0, s.loss, s.kl, s.clipLow, s.clipHigh, s.active])
        guard total[0] == 0 else { return nil }
        return IAPTrainer.LossSums(loss: total[1], kl: total[2], clipLow: total[3], clipHigh: total[4], active: total[5])
    }

    /// Returns when every rank is here.
    public func barrier() throws { try group?.barrier() }

    /// `error` as this rank reports it: when a collective failed (a rank died or hangs), the
    /// surviving ranks hold a roll call in the rendezvous store and the error names the ranks
    /// that did not answer and the step; any other error is returned as it is.
    public func explained(_ error: any Error, step: Int) -> any Error {
        guard let group, let failure = group.failure else { return error }
        let wait = min(group.timeoutSeconds, 15)
        let missing: String
        do {
            let present = try group.rollCall(tag: "step-\(step)", waitSeconds: wait)
            let absent = present.indices.filter { !present[$0] }
            missing =
                absent.isEmpty
                ? "every rank answered the roll call afterwards"
                : "\(absent.count == 1 ? "rank" : "ranks") \(absent.map(String.init).joined(separator: ", ")) did not answer within \(Int(wait)) s (dead or hung)"
        } catch {
            missing = "rank 0, which serves the rendezvous store, is gone"
        }
        return CollectiveFailure(description: "rank \(rank) of \(worldSize), step \(step): a collective failed: \(missing) (\(failure))")
    }

    // MARK: The optimizer under each strategy

    /// Under `fsdp` on several ranks: `model`'s weights sharded (and freed) with `whole`'s
    /// hyperparameters, its sharded optimizer to use instead; else nil.
    func shardedModel(_ model: CausalLM, optimizer whole: any Optimizer) throws -> FullyShardedModel? {
        guard strategy == .fsdp, let group, let adamW = whole as? AdamW else { return nil }
        return try FullyShardedModel(model: model, group: group, rule: adamW)
    }

    /// Under `fsdp` on several ranks: the frozen `model` (the reference) sharded the same
    /// way; else nil.
    func shardedFrozenModel(_ model: CausalLM) throws -> FullyShardedModel? {
        guard strategy == .fsdp, let group else { return nil }
        return try FullyShardedModel(frozen: model, group: group)
    }

    /// `whole` as this job runs it: sharded over the ranks under `zero2` (same
    /// hyperparameters), else `whole` itself.
    func optimizer(_ whole: any Optimizer) -> any Optimizer {
        guard strategy == .zero2, let group, let adamW = whole as? AdamW else { return whole }
        return ShardedAdamW(parameters: adamW.parameters, group: group, rule: adamW, bucketElements: bucketElements)
    }

    /// The gradient summed over the ranks and clipped to `maxNorm`; its norm before clipping.
    /// `ddp`: all-reduced in place; `zero2`: reduce-scattered into the optimizer's shards.
    func reduceAndClip(_ parameters: [Tensor], optimizer: any Optimizer, maxNorm: Double) throws -> Double {
        if let sharded = optimizer as? ShardedAdamW {
            try sharded.reduceGradients()
            return try sharded.clipGradientNorm(maxNorm: maxNorm)
        }
        try sumGradients(parameters)
        return try clipGradientNorm(parameters, maxNorm: maxNorm)
    }

    /// Called by every rank when a checkpoint is due: under `zero2` each rank writes its
    /// optimizer shard into the run's staging folder and waits for the others. Returns what
    /// rank 0 puts in the checkpoint, nil on the other ranks (they write nothing more).
    func optimizerFiles(_ optimizer: any Optimizer, run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? {
        if let sharded = optimizer as? ShardedAdamW {
            let staging = run.path + "/.optimizer-shards"
            try OptimizerCheckpoint.writeShard(sharded, into: staging)
            try barrier()
            return isMain ? .shards(sharded, staging: staging) : nil
        }
        guard isMain, let whole = optimizer as? AdamW else { return nil }
        return .whole(whole)
    }
}

/// A data-parallel job that cannot go on: a collective failed, and which ranks are gone.
public struct CollectiveFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}
