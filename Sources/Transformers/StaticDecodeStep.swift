import ModelFormats
import Torch

/// The static step's inputs, on the device and rewritten in place before every step, so that
/// a captured graph reads the new values: token ids and positions [rows, 1] (int64), the
/// slot the step writes [1] (int64); `slots` is how many leading slots attention reads.
struct StaticDecodeInputs {
    let ids: Tensor
    let positions: Tensor
    let slot: Tensor
    let slots: Int

    init(rows: Int, slots: Int, device: Device) throws(TorchError) {
        ids = try Tensor.zeros([rows, 1], dtype: .int64, device: device)
        positions = try Tensor.zeros([rows, 1], dtype: .int64, device: device)
        slot = try Tensor.zeros([1], dtype: .int64, device: device)
        self.slots = slots
    }

    /// Writes the next step's values (host → device copies, outside any graph).
    func set(ids newIds: [Int], positions newPositions: [Int], slot newSlot: Int) throws(TorchError) {
        try ids.copy_(try Tensor(newIds.map(Int64.init), shape: [newIds.count, 1]))
        try positions.copy_(try Tensor(newPositions.map(Int64.init), shape: [newPositions.count, 1]))
        try slot.copy_(try Tensor([Int64(newSlot)]))
    }
}

extension CausalLM {
    /// One decoding step with only static shapes and device-side indices (what a CUDA graph
    /// can record): every layer writes its new keys and values at slot `inputs.slot` of the
    /// cache, the slot is marked valid, and attention reads slots `0..<inputs.slots`, masked
    /// to valid slots up to the new one (and, in sliding layers, within the window). The cache
    /// keeps every slot (no trimmed windows). Returns logits [rows, vocab]; the caller then
    /// advances the cache (`KVCache.advanceWritten`).
    func staticDecodeStep(_ inputs: StaticDecodeInputs, cache: KVCache) throws(TorchError) -> Tensor {
        try withNoGrad { () throws(TorchError) -> Tensor in
            var x = try embed(inputs.ids)
            let global = try rotary.tables(positions: inputs.positions, dtype: dtype)
            let local = try localRotary?.tables(positions: inputs.positions, dtype: dtype)
            let (full, sliding) = try cache.staticMasks(slot: inputs.slot, slots: inputs.slots, window: config.slidingWindow)
            let packedWeights = inferenceWeights()  // (the CPU's packed copies, as eager steps use; none on CUDA)
            for (i, layer) in layers.enumerated() {
                let (cos, sin) = config.slides(i) ? local ?? global : global
                let mask = config.slides(i) ? sliding ?? full : full
                x = try layer.staticDecode(
                    x, cos: cos, sin: sin, mask: mask, config: config, keys: cache.keys[i], values: cache.values[i], at: inputs,
                    packed: packedWeights?.layers[i])
            }
            return try logits(try config.norm(x, finalNorm, size: config.hiddenSize)).squeeze(1)
        }
    }
}

extension DecoderLayer {
    /// x [rows, 1, hidden] → same shape, writing this token's keys and values into the layer's
    /// cache tensors `keys`/`values` [rows, kv_heads, capacity, d] at `inputs.slot`.
    func staticDecode(
        _ x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, config: CausalLMConfig, keys: Tensor, values: Tensor,
        at inputs: StaticDecodeInputs, packed: PackedWeights.Layer? = nil
    ) throws(TorchError) -> Tensor {
        let (query, key, value) = try projections(x, cos: cos, sin: sin, config: config, packed: packed)
        try keys.indexCopy_(dim: 2, index: inputs.slot, source: key)
        try values.indexCopy_(dim: 2, index: inputs.slot, source: value)
        let attended = try DecoderLayer.attention(
            query: query, key: try keys.narrow(dim: 2, start: 0, length: inputs.slots),
            value: try values.narrow(dim: 2, start: 0, length: inputs.slots), mask: .mask(mask), config: config)
        return try finish(x, attended: attended, config: config, packed: packed)
    }
}
