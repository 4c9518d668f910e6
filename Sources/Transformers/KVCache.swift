import Torch

/// Preallocated keys and values of every layer for a batch of sequences during generation.
///
/// Slots are columns of [batch, kv_heads, capacity, head_dim] tensors; `length` slots are
/// filled. `valid` [batch, capacity] (bool) marks which filled slots hold real tokens, so
/// left padding of prompts of different lengths is masked out of attention.
///
/// Sliding-window layers (`SlidingWindowSlots`) keep only the slots a later query can still
/// see: their tensors hold slots `windowStart..<length` (index 0 = slot `windowStart`), at
/// least the last `window − 1` of them, so their memory stays about one window however long
/// the sequences grow. Every slot they drop is out of the window of every query to come
/// (queries are at slots ≥ `length`), which keeps the joins below exact.
public final class KVCache {
    public private(set) var capacity: Int
    public private(set) var batch: Int
    public private(set) var length = 0
    var keys: [Tensor]
    var values: [Tensor]
    var valid: Tensor
    /// The windowed layers and their window; nil when every layer keeps every slot.
    let window: SlidingWindowSlots?
    /// The slot at index 0 of the windowed layers' tensors.
    public private(set) var windowStart = 0
    /// Counts the times the tensors were replaced (rows selected or joined, windows moved): a
    /// CUDA graph that writes them is valid only for the allocation it was captured with.
    public private(set) var allocation = 0
    /// While set, windowed layers drop no slot (they only grow): a chunked prefill whose
    /// prompts a prefix cache will remember needs all their slots at its end.
    var holdsWindowedSlots = false

    init(
        layers: Int, batch: Int, kvHeads: Int, headDim: Int, capacity: Int, dtype: DType, device: Device,
        window: SlidingWindowSlots? = nil
    ) throws(TorchError) {
        self.capacity = capacity
        self.batch = batch
        self.window = window
        var keys: [Tensor] = []
        var values: [Tensor] = []
        for layer in 0..<layers {
            let slots = window?.keeps(layer) == true ? min(capacity, window?.roomy(time: 1) ?? capacity) : capacity
            keys.append(try Tensor.zeros([batch, kvHeads, slots, headDim], dtype: dtype, device: device))
            values.append(try Tensor.zeros([batch, kvHeads, slots, headDim], dtype: dtype, device: device))
        }
        self.keys = keys
        self.values = values
        self.valid = try Tensor.zeros([batch, capacity], dtype: .bool, device: device)
    }

    /// Slots a windowed layer's tensors hold now (every slot for a cache without windows).
    public var windowSlotsHeld: Int {
        guard let layer = window?.layers.firstIndex(of: true) else { return capacity }
        return keys[layer].shape[2]
    }

    /// The first slot `layer`'s tensors hold.
    func firstSlot(layer: Int) -> Int { window?.keeps(layer) == true ? windowStart : 0 }

    /// Before a step of `time` new tokens: drops from the windowed layers the slots no query of
    /// this step or later can see, and sizes their tensors to the window plus some slack (so
    /// the shift — one copy of at most `window − 1` slots — happens once every `slack` steps).
    func makeRoom(time: Int) throws(TorchError) {
        guard let window, window.layers.contains(true) else { return }
        let held = windowSlotsHeld
        let roomy = window.roomy(time: time)
        if length - windowStart + time <= held && held <= roomy { return }
        // A query at slot q sees slots > q − window; the first query of this step is `length`.
        let keepFrom = holdsWindowedSlots ? windowStart : max(windowStart, length - (window.size - 1))
        let kept = length - keepFrom
        let slots = max(kept + time, min(roomy, capacity - keepFrom))
        for layer in keys.indices where window.keeps(layer) {
            keys[layer] = try KVCache.moved(keys[layer], from: keepFrom - windowStart, count: kept, slots: slots)
            values[layer] = try KVCache.moved(values[layer], from: keepFrom - windowStart, count: kept, slots: slots)
        }
        windowStart = keepFrom
        allocation += 1
    }

    /// A tensor of `slots` slots whose first `count` are `t`'s slots from `from` on.
    private static func moved(_ t: Tensor, from: Int, count: Int, slots: Int) throws(TorchError) -> Tensor {
        var shape = t.shape
        shape[2] = slots
        let fresh = try Tensor.empty(shape, dtype: t.dtype, device: t.device)
        if count > 0 { try fresh.narrow(dim: 2, start: 0, length: count).copy_(t.narrow(dim: 2, start: from, length: count)) }
        return fresh
    }

    /// Writes a layer's new keys/values [batch, kv_heads, time, head_dim] after the filled
    /// slots; returns all the slots the layer holds, including them (windowed layers: from
    /// `windowStart`; call `makeRoom(time:)` first).
    func store(layer: Int, keys newKeys: Tensor, values newValues: Tensor) throws(TorchError) -> (keys: Tensor, values: Tensor) {
        let time = newKeys.shape[2]
        let end = length - firstSlot(layer: layer)
        try keys[layer].narrow(dim: 2, start: end, length: time).copy_(newKeys)
        try values[layer].narrow(dim: 2, start: end, length: time).copy_(newValues)
        return (
            try keys[layer].narrow(dim: 2, start: 0, length: end + time),
            try values[layer].narrow(dim: 2, start: 0, length: end + time)
        )
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
        allocation += 1
    }

    /// Adds `other`'s rows after this cache's rows (continuous batching: prompts that join a
    /// running batch). Both are aligned at their last filled slot — the shorter side's rows
    /// get invalid slots in front, as left padding — after dropping the leading slots that no
    /// row of this cache uses any more; `reserve` free slots follow. Copies every layer once.
    func append(rows other: KVCache, reserve: Int) throws(TorchError) {
        let unused = try leadingUnusedSlots()
        let joined = max(length - unused, other.length)
        let newCapacity = joined + reserve
        // Slot s of this cache becomes slot s + ownShift of the joined one; `other`'s, s + theirShift.
        let (ownShift, theirShift) = (joined - length, joined - other.length)
        let newWindowStart = max(0, min(windowStart + ownShift, other.windowStart + theirShift))
        let rows = batch + other.batch
        for layer in keys.indices {
            var (first, slots) = (0, newCapacity)
            if let window, window.keeps(layer) {
                (first, slots) = (newWindowStart, max(joined - newWindowStart, min(window.roomy(time: 1), newCapacity - newWindowStart)))
            }
            let sides = [
                JoinSide(rows: batch, firstSlot: firstSlot(layer: layer) + ownShift, keptFrom: unused + ownShift),
                JoinSide(rows: other.batch, firstSlot: other.firstSlot(layer: layer) + theirShift, keptFrom: theirShift),
            ]
            keys[layer] = try KVCache.joined(
                [keys[layer], other.keys[layer]], sides: sides, first: first, end: joined, slots: slots, slotDim: 2)
            values[layer] = try KVCache.joined(
                [values[layer], other.values[layer]], sides: sides, first: first, end: joined, slots: slots, slotDim: 2)
        }
        let sides = [
            JoinSide(rows: batch, firstSlot: ownShift, keptFrom: unused + ownShift),
            JoinSide(rows: other.batch, firstSlot: theirShift, keptFrom: theirShift),
        ]
        valid = try KVCache.joined([valid, other.valid], sides: sides, first: 0, end: joined, slots: newCapacity, slotDim: 1)
        (batch, length, capacity, windowStart) = (rows, joined, newCapacity, newWindowStart)
        allocation += 1
    }

    /// One side of a join: its row count, the joined cache's slot its index 0 holds, and the
    /// first slot worth copying (those before it are no row's any more).
    private struct JoinSide {
        let rows: Int
        let firstSlot: Int
        let keptFrom: Int
    }

    /// The sources' rows one after another in a tensor of `slots` slots along `slotDim` whose
    /// index 0 is slot `first`: each source's slots up to `end`, those before it (or before
    /// `first`) dropped, the slots in front of what it holds zeroed (attention reads them,
    /// masked: they must be finite). The slots from `end` on are zeroed too: a static decode
    /// step reads a bucket of slots past the filled ones, masked.
    private static func joined(_ sources: [Tensor], sides: [JoinSide], first: Int, end: Int, slots: Int, slotDim: Int)
        throws(TorchError) -> Tensor
    {
        var shape = sources[0].shape
        (shape[0], shape[slotDim]) = (sides.reduce(0) { $0 + $1.rows }, slots)
        let fill = try Tensor.empty(shape, dtype: sources[0].dtype, device: sources[0].device)
        var row = 0
        for (source, side) in zip(sources, sides) where side.rows > 0 {
            let target = try fill.narrow(dim: 0, start: row, length: side.rows)
            let from = max(first, side.firstSlot, side.keptFrom)
            if from > first { try target.narrow(dim: slotDim, start: 0, length: from - first).zero_() }
            if end > from {
                try target.narrow(dim: slotDim, start: from - first, length: end - from)
                    .copy_(source.narrow(dim: slotDim, start: from - side.firstSlot, length: end - from))
            }
            row += side.rows
        }
        if slots > end - first { try fill.narrow(dim: slotDim, start: end - first, length: slots - (end - first)).zero_() }
        return fill
    }

    /// Writes `other`'s rows into rows `rows` of this cache (rows of finished sequences, reused
    /// by prompts that join), aligned to end at the last filled slot like `append`; the rest
    /// of each such row becomes invalid (its old keys stay, finite and masked — in windowed
    /// layers, the slots `other` dropped are out of every later query's window). Copies only
    /// the new rows. Needs `other.length ≤ length`.
    func place(_ other: KVCache, intoRows rows: [Int]) throws(TorchError) {
        let start = length - other.length  // other's slot s is slot s + start here
        for layer in keys.indices {
            let (own, theirs) = (firstSlot(layer: layer), other.firstSlot(layer: layer) + start)
            let from = max(own, theirs)
            guard length > from else { continue }
            for (i, row) in rows.enumerated() {
                try keys[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: from - own, length: length - from)
                    .copy_(
                        other.keys[layer].narrow(dim: 0, start: i, length: 1).narrow(dim: 2, start: from - theirs, length: length - from))
                try values[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: from - own, length: length - from)
                    .copy_(
                        other.values[layer].narrow(dim: 0, start: i, length: 1).narrow(dim: 2, start: from - theirs, length: length - from))
            }
        }
        for (i, row) in rows.enumerated() {
            let target = try valid.narrow(dim: 0, start: row, length: 1)
            try target.zero_()
            try target.narrow(dim: 1, start: start, length: other.length).copy_(
                other.valid.narrow(dim: 0, start: i, length: 1).narrow(dim: 1, start: 0, length: other.length))
        }
    }

    /// Fills an empty cache's first `length` slots of every row with a remembered prompt's
    /// keys and values (per layer [1, kv_heads, ≥ length, head_dim], every slot from 0):
    /// the shared prefix of prompts whose rest is prefilled next. Windowed layers take only
    /// the slots a later query can still see.
    func fill(prefixKeys: [Tensor], prefixValues: [Tensor], length prefix: Int) throws(TorchError) {
        guard length == 0, prefix > 0 else {
            throw TorchError(operation: "KVCache.fill", message: "a prefix goes into an empty cache (length \(length))")
        }
        let keepFrom = window.map { $0.layers.contains(true) ? max(0, prefix - ($0.size - 1)) : 0 } ?? 0
        for layer in keys.indices {
            let first = window?.keeps(layer) == true ? keepFrom : 0
            guard keys[layer].shape[2] >= prefix - first else {
                throw TorchError(operation: "KVCache.fill", message: "\(prefix) prefix slots do not fit a capacity of \(capacity)")
            }
            try keys[layer].narrow(dim: 2, start: 0, length: prefix - first)
                .copy_(prefixKeys[layer].narrow(dim: 2, start: first, length: prefix - first))
            try values[layer].narrow(dim: 2, start: 0, length: prefix - first)
                .copy_(prefixValues[layer].narrow(dim: 2, start: first, length: prefix - first))
        }
        try valid.narrow(dim: 1, start: 0, length: prefix).fill_(.bool(true))
        (length, windowStart) = (prefix, keepFrom)
    }

    /// Copies of one row's keys and values in slots `from..<from + count`, per layer
    /// [1, kv_heads, count, head_dim] (windowed layers must still hold those slots).
    func slots(row: Int, from start: Int, count: Int) throws(TorchError) -> (keys: [Tensor], values: [Tensor]) {
        var (rowKeys, rowValues) = ([Tensor](), [Tensor]())
        for layer in keys.indices {
            let first = firstSlot(layer: layer)
            guard start >= first, start + count <= length else {
                throw TorchError(operation: "KVCache.slots", message: "slots \(start)..<\(start + count) are not held (from \(first))")
            }
            rowKeys.append(
                try keys[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: start - first, length: count).clone())
            rowValues.append(
                try values[layer].narrow(dim: 0, start: row, length: 1).narrow(dim: 2, start: start - first, length: count).clone())
        }
        return (rowKeys, rowValues)
    }

    /// For a static decode step writing slot `slot` ([1], int64, on the device) and reading
    /// the first `slots` slots: marks the slot valid for every row and returns the attention
    /// masks [batch, 1, 1, slots] — valid slots up to the new one, and within `window` of it
    /// for sliding layers. Needs a cache that keeps every slot.
    func staticMasks(slot: Tensor, slots: Int, window: Int?) throws(TorchError) -> (full: Tensor, sliding: Tensor?) {
        let validSlots = try valid.narrow(dim: 1, start: 0, length: slots)
        try validSlots.indexFill_(dim: 1, index: slot, value: .bool(true))
        let keyIndex = try Tensor.arange(.int(slots), dtype: .int64, device: valid.device).view([1, slots])
        let full = try validSlots.logicalAnd(try keyIndex.le(slot))
        let sliding = try window.map { (w) throws(TorchError) -> Tensor in
            try full.logicalAnd(try keyIndex.gt(try slot - Double(w))).view([batch, 1, 1, slots])
        }
        return (try full.view([batch, 1, 1, slots]), sliding)
    }

    /// Advances `length` after a static decode step, which wrote its slot's keys, values and
    /// validity itself.
    func advanceWritten() { length += 1 }

    /// Filled slots, from the first, that no row holds a real token in (rows that used them
    /// finished and were dropped).
    func leadingUnusedSlots() throws(TorchError) -> Int {
        guard length > 0, batch > 0 else { return length }
        let used = try valid.narrow(dim: 1, start: 0, length: length).any(dims: [0]).toArray(Bool.self)
        return used.firstIndex(of: true) ?? length
    }
}

/// Which layers of a cache keep only a sliding window of slots, and the window.
struct SlidingWindowSlots {
    /// Keys more than `size − 1` slots before a query are not attended to.
    let size: Int
    /// Per layer: whether it attends within the window.
    let layers: [Bool]

    func keeps(_ layer: Int) -> Bool { layer < layers.count && layers[layer] }

    /// Steps between two shifts of the window's slots.
    var slack: Int { max(16, size / 4) }

    /// Slots a windowed layer holds for a step of `time` tokens: the window's past plus room.
    func roomy(time: Int) -> Int { size - 1 + max(time, slack) }
}
