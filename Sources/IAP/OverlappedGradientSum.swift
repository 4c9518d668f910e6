import Torch
import Transformers

/// DDP's gradient all-reduce overlapped with the backward pass (`dist.overlap_backward`):
/// installed as the training pass's block hooks, it starts the all-reduce of a decoder
/// block's gradient (one flat bucket per block) as soon as that block's backward pass is done
/// (checkpointed, or run as a kept block without checkpointing: `keptBlock`), while the blocks
/// below are still back-propagating; Gloo runs it on its own threads. Only during the last micro-batch's backward pass of an update (`arm`), when
/// the block's gradient is complete. `finish` starts what has not started (blocks last to
/// first, as a backward pass would), sums the rest of the model (embedding, norm, head) and
/// waits, leaving every gradient summed over the ranks.
///
/// Collectives are matched across ranks by order, so every rank must run an armed backward
/// pass before its next collective (the trainer gives a rank with no micro-batch an idle one).
final class OverlappedGradientSum: BlockResidency, @unchecked Sendable {
    let group: ProcessGroup
    /// Each block's parameters, and those in no block.
    let blocks: [[Tensor]]
    let rest: [Tensor]
    var armed = false
    /// Started sums by block: the flat bucket in flight and the work.
    var pending: [Int: (flat: Tensor, work: PendingAllReduce)] = [:]

    init(group: ProcessGroup, parameters: [AdamW.Parameter], blockCount: Int) {
        self.group = group
        var blocks = [[Tensor]](repeating: [], count: blockCount)
        var rest: [Tensor] = []
        for p in parameters {
            if let b = FullyShardedModel.block(of: p.name, blocks: blockCount) { blocks[b].append(p.tensor) } else { rest.append(p.tensor) }
        }
        self.blocks = blocks
        self.rest = rest
    }

    func willRun(block index: Int) throws(TorchError) {}
    func didRunWithoutGrad(block index: Int) throws(TorchError) {}

    func didBackward(block index: Int) throws(TorchError) {
        guard armed, pending[index] == nil else { return }
        try start(index)
        startedDuringBackward += 1
    }

    /// Blocks whose sum started during the last armed backward pass (the rest in `finish`).
    private(set) var startedDuringBackward = 0
    /// `startedDuringBackward` of the last finished update.
    private(set) var lastOverlapped = 0

    /// The next backward pass is the update's last: blocks' sums start as they finish.
    func arm() { armed = true }

    func start(_ index: Int) throws(TorchError) {
        let flat = try Tensor.cat(
            try blocks[index].map { (p) throws(TorchError) -> Tensor in
                if let g = p.grad { return try g.reshape([-1]) }
                return try Tensor.zeros([p.count], dtype: p.dtype, device: p.device)
            })
        pending[index] = (flat, try group.startAllReduce(flat))
    }

    /// Every gradient summed over the ranks (see the type's comment); `sumRest` sums the
    /// parameters in no block the usual way.
    func finish(sumRest: ([Tensor]) throws -> Void) throws {
        armed = false
        lastOverlapped = startedDuringBackward
        startedDuringBackward = 0
        for index in blocks.indices.reversed() where pending[index] == nil { try start(index) }
        try sumRest(rest)
        for index in blocks.indices.reversed() {
            guard let (flat, work) = pending[index] else { continue }
            try work.wait()
            var offset = 0
            for p in blocks[index] {
                let summed = try flat.narrow(dim: 0, start: offset, length: p.count).view(p.shape)
                if let g = p.grad { try g.copy_(summed) } else { try p.setGrad(summed.clone()) }
                offset += p.count
            }
        }
        pending = [:]
    }

    /// Waits for what started and forgets it (an update dropped for a non-finite loss).
    func discard() throws {
        armed = false
        startedDuringBackward = 0
        for index in pending.keys.sorted(by: >) { try pending[index]?.work.wait() }
        pending = [:]
    }
}
