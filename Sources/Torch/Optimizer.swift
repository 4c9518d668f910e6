/// What a trainer asks of its optimizer, whether it holds all of its state (`AdamW`) or this
/// rank's shard of it (`ShardedAdamW`, ZeRO-2).
public protocol Optimizer: AnyObject, Sendable {
    /// Set by the schedule before each step.
    var learningRate: Double { get set }
    /// Completed steps.
    var stepCount: Int { get }
    /// Bytes of state kept between steps on this rank (moments, master copies).
    var stateBytes: Int { get }
    /// Applies one update from the gradients the parameters hold (or, sharded, from the
    /// gradient shards `reduceGradients` made).
    func step() throws(TorchError)
    /// Drops every parameter's gradient.
    func zeroGrad() throws(TorchError)
    /// Restores whole per-parameter state ("exp_avg.NAME", "exp_avg_sq.NAME", "master.NAME")
    /// and the step count.
    func loadState(tensors: [String: Tensor], step: Int) throws(TorchError)
}

extension AdamW: Optimizer {}
extension ShardedAdamW: Optimizer {}
