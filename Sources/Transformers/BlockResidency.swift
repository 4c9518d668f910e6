import Torch

/// Where a decoder block's weights are between uses, for a model whose weights are sharded
/// over ranks (FSDP): the model calls these around each block of every forward pass, so the
/// owner of the shards can gather a block's weights just before it runs and free them after
/// (and again for gradient checkpointing's recompute), and reduce the block's gradients as
/// soon as its backward pass is done. Every rank runs the same blocks in the same order, so
/// collectives made here line up across ranks.
public protocol BlockResidency: AnyObject, Sendable {
    /// Block `index`'s weights are about to be used: make them whole (a no-op when they are).
    func willRun(block index: Int) throws(TorchError)
    /// A forward pass of block `index` without autograd is done: nothing will need its
    /// weights until the next `willRun`.
    func didRunWithoutGrad(block index: Int) throws(TorchError)
    /// Block `index`'s backward pass (after its checkpointed recompute, or as a kept block of
    /// a pass's hooks) is done: its weights' gradients for this pass are complete.
    func didBackward(block index: Int) throws(TorchError)
}

extension CausalLM {
    /// `body` (block `index` of the stack) applied to `x`, checkpointed when `recompute`,
    /// with the weights' residency (sharded weights) and the pass's `hooks` (a gradient sum
    /// overlapping the backward pass) told before and after.
    func runBlock(
        _ index: Int, _ x: Tensor, recompute: Bool, hooks: (any BlockResidency)?, _ body: @escaping (Tensor) throws(TorchError) -> Tensor
    ) throws(TorchError) -> Tensor {
        let told = [shared.residency, hooks].compactMap { $0 }
        guard !told.isEmpty else { return recompute ? try checkpointed(x, body) : try body(x) }
        let hooked = { (input: Tensor) throws(TorchError) -> Tensor in
            for r in told { try r.willRun(block: index) }
            let y = try body(input)
            // Without autograd (inference, or checkpointing's first pass) nothing keeps the
            // weights for later; with it, the backward pass still needs them.
            if !isGradEnabled { for r in told { try r.didRunWithoutGrad(block: index) } }
            return y
        }
        guard recompute else {
            // Without checkpointing, the pass's hooks still learn when the block's backward
            // pass is done (overlapped gradient sums): the block runs as one node of the graph.
            guard let hooks, isGradEnabled else { return try hooked(x) }
            return try keptBlock(x, afterBackward: { () throws(TorchError) in try hooks.didBackward(block: index) }, hooked)
        }
        return try checkpointed(x, afterBackward: { () throws(TorchError) in for r in told { try r.didBackward(block: index) } }, hooked)
    }

    /// Installs `residency` as the gatherer of these weights, now sharded over ranks (every
    /// view sees it; packing stops).
    func shard(by residency: any BlockResidency) {
        shared.shard(by: residency)
    }
}
