import ModelFormats
import Torch

/// The decoding steps of one generation run when they are static (`DecodeSteps.static`)
/// or CUDA graphs of the static step (`.cudaGraphs`).
///
/// A graph records the tensors it reads and writes, so it serves one cache allocation
/// (`KVCache.allocation`: joins, compactions and grown caches make new tensors and drop the
/// graphs), one row count and one bucket of slots read (attention reads the filled slots
/// rounded up to `slotBucket`, masked; a graph serves that many steps). Each graph is captured
/// the first time its key comes up and replayed after that.
final class DecodeGraphs {
    let mode: DecodeSteps
    /// Slots attention reads grow in steps of this many (CUDA graphs: one capture per bucket).
    static let slotBucket = 128

    private struct Key: Hashable {
        let cache: ObjectIdentifier
        let allocation: Int
        let rows: Int
        let slots: Int
    }

    /// A captured step: its graph, the inputs it reads and the logits it writes.
    private struct Captured {
        let graph: CUDAGraph
        let inputs: StaticDecodeInputs
        let logits: Tensor
    }

    private var graphs: [Key: Captured] = [:]

    init(mode: DecodeSteps) { self.mode = mode }

    /// One decoding step for every row of `cache` (the last token of each row's sequence):
    /// next logits [rows, vocab]; the cache advances by one slot.
    func step(model: CausalLM, state: GenerationState, cache: KVCache) throws(TorchError) -> Tensor {
        let slots = min(cache.capacity, (cache.length / DecodeGraphs.slotBucket + 1) * DecodeGraphs.slotBucket)
        let ids = state.rowOf.map { state.results[$0].tokens.last ?? 0 }
        let positions = state.rowOf.map { state.nextPosition[$0] - 1 }
        let logits: Tensor
        switch mode {
        case .eager, .static:
            let inputs = try StaticDecodeInputs(rows: cache.batch, slots: slots, device: model.device)
            try inputs.set(ids: ids, positions: positions, slot: cache.length)
            logits = try model.staticDecodeStep(inputs, cache: cache)
        case .cudaGraphs:
            let key = Key(cache: ObjectIdentifier(cache), allocation: cache.allocation, rows: cache.batch, slots: slots)
            if let any = graphs.keys.first, any.cache != key.cache || any.allocation != key.allocation { graphs.removeAll() }
            let captured: Captured
            if let known = graphs[key] {
                captured = known
            } else {
                captured = try capture(model: model, cache: cache, key: key, ids: ids, positions: positions)
            }
            try captured.inputs.set(ids: ids, positions: positions, slot: cache.length)
            try captured.graph.replay()
            logits = try captured.logits.clone()
        }
        cache.advanceWritten()
        return logits
    }

    /// Records the static step for `key` (its warm-up run writes this step's slot, which the
    /// replay that follows writes again with the same values).
    private func capture(
        model: CausalLM, cache: KVCache, key: Key, ids: [Int], positions: [Int]
    ) throws(TorchError) -> Captured {
        let inputs = try StaticDecodeInputs(rows: key.rows, slots: key.slots, device: model.device)
        try inputs.set(ids: ids, positions: positions, slot: cache.length)
        let graph = try CUDAGraph(plugin: GPUBundle.cudaGraphsPlugin, device: model.device)
        let logits = try graph.capture { () throws(TorchError) -> Tensor in try model.staticDecodeStep(inputs, cache: cache) }
        let captured = Captured(graph: graph, inputs: inputs, logits: logits)
        graphs[key] = captured
        return captured
    }
}
