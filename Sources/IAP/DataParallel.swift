import Foundation
import IAPCore
import Torch
import Transformers

/// The ranks of a data-parallel job as a trainer sees them: which share of a step's
/// questions is this rank's, and the collectives that make every rank's update the one a
/// single process would make over the whole batch. Without a group (one process) every call
/// is the identity, so the trainer has one code path. How the ranks split the weights and
/// the optimizer (`dist.strategy`) is a `ParallelStrategy` (`strategy(policy:…)`).
public final class DataParallel: JobRanks, @unchecked Sendable {
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
}

/// A data-parallel job that cannot go on: a collective failed, and which ranks are gone.
public struct CollectiveFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}
