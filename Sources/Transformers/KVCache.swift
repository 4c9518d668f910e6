import Torch

/// Preallocated keys and values of every layer for a batch of sequences during generation.
///
/// Slots are columns of [batch, kv_heads, capacity, head_dim] tensors; `length` slots are
/// filled. `valid` [batch, capacity] (bool) marks which filled slots hold real tokens, so
/// left padding of prompts of different lengths is masked out of attention.
public final class KVCache {
    public private(set) var capacity: Int
    public private(set) var batch: Int
    public private(set) var length = 0
    var keys: [Tensor]
    var values: [Tensor]
    var valid: Tensor

    init(layers: Int, batch: Int, kvHeads: Int, headDim: Int, capacity: Int, dtype: DType, device: Device) throws(TorchError) {
        self.capacity = capacity
        self.batch = batch
        var keys: [Tensor] = []
        var values: [Tensor] = []
        for _ in 0..<layers {
            keys.append(try Tensor.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device))
            values.append(try Tensor.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device))
        }
        self.keys = keys
        self.values = values
        self.valid = try Tensor.zeros([batch, capacity], dtype: .bool, device: device)
    }

    /// Writes a layer's new keys/values [batch, kv_heads, time, head_dim] after the filled
    /// slots; returns all filled keys and values including them.
    func store(layer: Int, keys newKeys: Tensor, values newValues: Tensor) throws(TorchError) -> (keys: Tensor, values: Tensor) {
        let time = newKeys.shape[2]
        try keys[layer].narrow(dim: 2, start: length, length: time).copy_(newKeys)
        try values[layer].narrow(dim: 2, start: length, length: time).copy_(newValues)
        return (try keys[layer].narrow(dim: 2, start: 0, length: length + time),
                try values[layer].narrow(dim: 2, start: 0, length: length + time))
    }

    /// Marks `time` new slots (validity [batch, time]) and advances `length`; called once all
    /// layers stored their keys for the step.
    func advance(valid newValid: Tensor) throws(TorchError) {
        let time = newValid.shape[1]
        try valid.narrow(dim: 1, start: length, length: time).copy_(newValid)
        length += time
    }

    /// Validity of the slots a step of `time` new tokens attends to: [batch, length + time].
    func validity(including newValid: Tensor) throws(TorchError) -> Tensor {
        try Tensor.cat([try valid.narrow(dim: 1, start: 0, length: length), newValid], dim: 1)
    }

    /// Keeps or repeats sequences: row i of the result is row `rows[i]` of the cache (for
    /// sharing one prompt's prefill among its samples, and dropping finished sequences).
    func select(rows: Tensor) throws(TorchError) {
        keys = try keys.map { (k) throws(TorchError) in try k.indexSelect(dim: 0, index: rows) }
        values = try values.map { (v) throws(TorchError) in try v.indexSelect(dim: 0, index: rows) }
        valid = try valid.indexSelect(dim: 0, index: rows)
        batch = rows.shape[0]
    }

    /// Adds `other`'s rows after this cache's rows (continuous batching: prompts that join a
    /// running batch). Both are aligned at their last filled slot — the shorter side's rows
    /// get invalid slots in front, as left padding — after dropping the leading slots that no
    /// row of this cache uses any more; `reserve` free slots follow. Copies every layer once.
    func append(rows other: KVCache, reserve: Int) throws(TorchError) {
        let unused = try leadingUnusedSlots()
        let (ownLength, otherLength) = (length - unused, other.length)
        let joined = max(ownLength, otherLength)
        let newCapacity = joined + reserve
        // Rows [batch, …, slots, …] along `slotDim`: own rows then other rows, each side's
        // filled slots ending at `joined`. Only the padding in front is zeroed (attention
        // reads it, masked: it must be finite); the reserve is written before it is read.
        func combine(_ own: Tensor, _ theirs: Tensor, into fill: Tensor) throws(TorchError) -> Tensor {
            let slotDim = own.rank == 2 ? 1 : 2
            for (start, count, source, offset, filled) in [
                (0, batch, own, unused, ownLength), (batch, other.batch, theirs, 0, otherLength),
            ] where count > 0 {
                let target = try fill.narrow(dim: 0, start: start, length: count)
                if joined > filled { try target.narrow(dim: slotDim, start: 0, length: joined - filled).zero_() }
                try target.narrow(dim: slotDim, start: joined - filled, length: filled).copy_(source.narrow(dim: slotDim, start: offset, length: filled))
            }
            return fill
        }
        let rows = batch + other.batch
        for layer in keys.indices {
            var shape = keys[layer].shape
            (shape[0], shape[2]) = (rows, newCapacity)
            let (k, v) = (keys[layer], values[layer])
            keys[layer] = try combine(k, other.keys[layer], into: try Tensor.empty(shape, dtype: k.dtype, device: k.device))
            values[layer] = try combine(v, other.values[layer], into: try Tensor.empty(shape, dtype: v.dtype, device: v.device))
        }
        valid = try combine(valid, other.valid, into: try Tensor.zeros([rows, newCapacity], dtype: .bool, device: valid.device))
        (batch, length, capacity) = (rows, joined, newCapacity)
    }

    /// Writes `other`'s rows into rows `rows` of this cache (rows of finished sequences, reused
    /// by prompts that join), aligned to end at the last filled slot like `append`; the rest
    /// of each such row becomes invalid (its old keys stay, finite and masked). Copies only
    /// the new rows. Needs `other.length ≤ length`.
    func place(_ other: KVCache, intoRows rows: [Int]) throws(TorchError) {
        let start = length - other.length
        for layer in keys.indices {
            for (i, row) in rows.enumerated() {
                try keys[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: start, length: other.length)
                    .copy_(other.keys[layer].narrow(dim: 0, start: i, length: 1).narrow(dim: 2, start: 0, length: other.length))
                try values[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: start, length: other.length)
                    .copy_(other.values[layer].narrow(dim: 0, start: i, length: 1).narrow(dim: 2, start: 0, length: other.length))
            }
        }
        for (i, row) in rows.enumerated() {
            let target = try valid.narrow(dim: 0, start: row, length: 1)
            try target.zero_()
            try target.narrow(dim: 1, start: start, length: other.length).copy_(other.valid.narrow(dim: 0, start: i, length: 1).narrow(dim: 1, start: 0, length: other.length))
        }
    }

    /// Filled slots, from the first, that no row holds a real token in (rows that used them
    /// finished and were dropped).
    func leadingUnusedSlots() throws(TorchError) -> Int {
        guard length > 0, batch > 0 else { return length }
        let used = try valid.narrow(dim: 1, start: 0, length: length).any(dims: [0]).toArray(Bool.self)
        return used.firstIndex(of: true) ?? length
    }
}
