import CTorch

/// Activation checkpointing: `body(input)` runs now without recording autograd state, and
/// runs again during `backward` to rebuild what the gradients need, trading one more
/// forward pass of the block for not keeping its intermediate activations. Gradients flow
/// to `input` and accumulate into the parameters the block uses, as without checkpointing;
/// then `afterBackward` runs (sharded training reduces the block's gradients there). An
/// error it throws fails the backward pass.
///
/// `body` must compute the same function both times (no randomness, no changed weights
/// before backward). It can tell the two runs apart by `isGradEnabled` (false, then true).
public func checkpointed(
    _ input: Tensor, afterBackward: (() throws(TorchError) -> Void)? = nil, _ body: @escaping (Tensor) throws(TorchError) -> Tensor
) throws(TorchError) -> Tensor {
    try callbackBlock(input, afterBackward: afterBackward, body, operation: "checkpointed") { ct_checkpoint($0, $1, $2, $3, $4) }
}

/// `body(input)` with autograd as usual, but as one node of the graph whose backward pass
/// runs the block's own backward pass to the end — every parameter gradient of the block
/// accumulated — and then `afterBackward` (overlapped gradient sums start there without
/// gradient checkpointing). Keeps what the block's backward pass needs, as without it.
public func keptBlock(
    _ input: Tensor, afterBackward: @escaping () throws(TorchError) -> Void, _ body: @escaping (Tensor) throws(TorchError) -> Tensor
) throws(TorchError) -> Tensor {
    try callbackBlock(input, afterBackward: afterBackward, body, operation: "keptBlock") { ct_kept_block($0, $1, $2, $3, $4) }
}

/// A block handed to C++ as callbacks into Swift (`ct_checkpoint`, `ct_kept_block`).
private func callbackBlock(
    _ input: Tensor, afterBackward: (() throws(TorchError) -> Void)?, _ body: @escaping (Tensor) throws(TorchError) -> Tensor,
    operation: String, apply: (ct_tensor, UnsafeMutableRawPointer, ct_block_fn, ct_release_fn, ct_done_fn?) -> ct_tensor?
) throws(TorchError) -> Tensor {
    let box = Unmanaged.passRetained(CheckpointBlock(body, afterBackward: afterBackward)).toOpaque()
    let run: ct_block_fn = { context, handle in
        guard let context, let handle else { return nil }
        let block = Unmanaged<CheckpointBlock>.fromOpaque(context).takeUnretainedValue()
        do {
            let output = try block.body(Tensor(owning: handle))
            return ct_share(output.handle)
        } catch {
            ct_set_last_error("\(error)")
            return nil
        }
    }
    let done: ct_done_fn = { context in
        guard let context else { return false }
        let block = Unmanaged<CheckpointBlock>.fromOpaque(context).takeUnretainedValue()
        do {
            try block.afterBackward?()
            return true
        } catch {
            ct_set_last_error("\(error)")
            return false
        }
    }
    let release: ct_release_fn = { context in
        guard let context else { return }
        Unmanaged<CheckpointBlock>.fromOpaque(context).release()
    }
    guard let handle = apply(input.handle, box, run, release, afterBackward == nil ? nil : done) else {
        let error = TorchError.last(operation)
        return try { () throws(TorchError) -> Tensor in throw error }()
    }
    return Tensor(owning: handle)
}

private final class CheckpointBlock {
    let body: (Tensor) throws(TorchError) -> Tensor
    let afterBackward: (() throws(TorchError) -> Void)?
    init(_ body: @escaping (Tensor) throws(TorchError) -> Tensor, afterBackward: (() throws(TorchError) -> Void)?) {
        self.body = body
        self.afterBackward = afterBackward
    }
}
