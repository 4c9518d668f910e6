/// AdamW with its state sharded over the ranks of a process group (ZeRO stage 2): every rank
/// holds the whole model, but the float32 master weights (of bfloat16/float16 weights), both
/// moments and the summed gradient only for its 1/N of the elements. A step:
///
///     reduceGradients   each bucket's flat gradient [padded] → reduce-scatter → this rank's [shard]
///     clipGradientNorm  ‖g‖ from every rank's shard (one all-reduce of squared sums)
///     step              AdamW on the shard (the rule of `AdamW.update`, element for element)
///                       → all-gather the updated shards → copy into the parameters
///
/// Buckets hold parameters of one dtype and device in order, about `bucketElements` each,
/// padded to a multiple of the world size; rank r owns elements [r·s, (r+1)·s) of every
/// bucket (s = padded ÷ N). The layout depends only on the parameters' shapes, the bucket
/// size and N, so any rank can say which elements any other rank holds (checkpoint index).
///
/// With `units` (FSDP, `init(parameters:group:rule:units:)`) the weights are sharded too:
/// each unit (a decoder block, or the rest of the model) is one bucket per dtype, whose
/// float32 master shard is the only copy a rank keeps. The weights are freed between uses;
/// `gather(unit:)` all-gathers a unit into them (they become views of one flat buffer),
/// `release(unit:)` frees it, `reduceGradients(unit:)` reduce-scatters its gradient into the
/// shard (adding to what earlier micro-batches left) as soon as its backward pass is done,
/// and `step` updates the shards without gathering anything: the next use does.
public final class ShardedAdamW: @unchecked Sendable {
    /// One bucket's parameters and this rank's state for its shard.
    final class Bucket {
        let members: [Int]
        /// Each member's first element in the flat bucket.
        let offsets: [Int]
        /// Elements before padding, and the shard length.
        let count: Int
        let shardLength: Int
        let dtype: DType
        let device: Device
        /// This rank's shard, [shardLength] float32 each (nil until the first step or a load).
        var gradient: Tensor?
        var master: Tensor?
        var firstMoment: Tensor?
        var secondMoment: Tensor?
        /// Whether the members' weights are in place (always, unless the weights are sharded).
        var resident = true

        /// The elements of member `k` (in its own flattened coordinates) that fall in rank
        /// `rank`'s shard; nil when none do.
        func overlap(member k: Int, count: Int, rank: Int) -> Range<Int>? {
            let (first, past) = (max(rank * shardLength, offsets[k]), min((rank + 1) * shardLength, offsets[k] + count))
            return first < past ? (first - offsets[k])..<(past - offsets[k]) : nil
        }

        init(members: [Int], sizes: [Int], dtype: DType, device: Device, worldSize: Int) {
            self.members = members
            var running = 0
            offsets = sizes.map { size in
                defer { running += size }
                return running
            }
            count = running
            shardLength = (running + worldSize - 1) / worldSize
            self.dtype = dtype
            self.device = device
        }
    }

    public let parameters: [AdamW.Parameter]
    public let group: ProcessGroup
    /// Holds the hyperparameters and the step count, and applies the update rule.
    let rule: AdamW
    let buckets: [Bucket]
    /// Shapes of the parameters as built (sharded weights are empty between uses).
    let shapes: [[Int]]
    /// Whether the weights are sharded (FSDP), and each unit's buckets.
    public let shardsParameters: Bool
    let unitBuckets: [[Int]]

    public var learningRate: Double {
        get { rule.learningRate }
        set { rule.learningRate = newValue }
    }
    public var stepCount: Int { rule.stepCount }

    /// `rule`: an AdamW whose hyperparameters this one uses (its own parameters are ignored).
    public convenience init(parameters: [AdamW.Parameter], group: ProcessGroup, rule: AdamW, bucketElements: Int) {
        let buckets = Self.layout(parameters, units: [Array(parameters.indices)], group: group, bucketElements: bucketElements).flatMap {
            $0
        }
        self.init(parameters: parameters, group: group, rule: rule, buckets: buckets, unitBuckets: [], shardsParameters: false)
    }

    /// FSDP: the weights sharded too, in `units` (lists of parameter indices, each used
    /// together: a decoder block; every parameter in exactly one unit). Cuts this rank's
    /// master shards from the weights as they are now, then frees the weights.
    public convenience init(parameters: [AdamW.Parameter], group: ProcessGroup, rule: AdamW, units: [[Int]]) throws(TorchError) {
        let covered = units.flatMap { $0 }.sorted()
        guard covered == Array(parameters.indices) else {
            throw TorchError(operation: "ShardedAdamW", message: "the units must hold every parameter exactly once")
        }
        let layout = Self.layout(parameters, units: units, group: group, bucketElements: .max)
        var unitBuckets: [[Int]] = []
        var next = 0
        for unit in layout {
            unitBuckets.append(Array(next..<(next + unit.count)))
            next += unit.count
        }
        self.init(
            parameters: parameters, group: group, rule: rule, buckets: layout.flatMap { $0 }, unitBuckets: unitBuckets,
            shardsParameters: true)
        try withNoGrad { () throws(TorchError) in
            for bucket in buckets { bucket.master = try currentShard(bucket) }
        }
        try releaseAll()
    }

    init(parameters: [AdamW.Parameter], group: ProcessGroup, rule: AdamW, buckets: [Bucket], unitBuckets: [[Int]], shardsParameters: Bool) {
        self.parameters = parameters
        self.group = group
        self.rule = rule
        self.buckets = buckets
        self.unitBuckets = unitBuckets
        self.shardsParameters = shardsParameters
        shapes = parameters.map(\.tensor.shape)
    }

    /// Each unit's buckets: its members in order, a new bucket where the dtype or device
    /// changes or the bucket would pass `bucketElements`.
    static func layout(_ parameters: [AdamW.Parameter], units: [[Int]], group: ProcessGroup, bucketElements: Int) -> [[Bucket]] {
        units.map { unit in
            var buckets: [Bucket] = []
            var members: [Int] = []
            var sizes: [Int] = []
            func close() {
                guard let first = members.first else { return }
                let t = parameters[first].tensor
                buckets.append(Bucket(members: members, sizes: sizes, dtype: t.dtype, device: t.device, worldSize: group.worldSize))
                (members, sizes) = ([], [])
            }
            for i in unit {
                let parameter = parameters[i]
                if let last = members.last.map({ parameters[$0].tensor }),
                    last.dtype != parameter.tensor.dtype || last.device != parameter.tensor.device
                        || sizes.reduce(0, +) + parameter.tensor.count > bucketElements
                {
                    close()
                }
                members.append(i)
                sizes.append(parameter.tensor.count)
            }
            close()
            return buckets
        }
    }

    /// Elements of parameter `i` (whether or not its weights are in place).
    func count(_ i: Int) -> Int { shapes[i].reduce(1, *) }

    var rank: Int { group.rank }

    /// The bucket's members' values (or gradients, `of`), flattened, concatenated and padded
    /// with zeros, float32: [shardLength · N].
    func flat(_ bucket: Bucket, of value: (Int) throws(TorchError) -> Tensor?) throws(TorchError) -> Tensor {
        var pieces: [Tensor] = []
        for i in bucket.members {
            let v: Tensor
            if let given = try value(i) { v = given } else { v = try Tensor.zeros(shapes[i], dtype: bucket.dtype, device: bucket.device) }
            pieces.append(try v.reshape([-1]).to(.float32))
        }
        let padding = bucket.shardLength * group.worldSize - bucket.count
        if padding > 0 { pieces.append(try Tensor.zeros([padding], device: bucket.device)) }
        return try Tensor.cat(pieces)
    }

    /// Sums the gradients over the ranks into this rank's shards (reduce-scatter, float32,
    /// added to what an earlier `reduceGradients(unit:)` left) and drops the full gradients.
    /// A parameter without a gradient counts as zeros. With sharded weights, only units in
    /// place can hold gradients (the others were reduced when released).
    public func reduceGradients() throws(TorchError) {
        for index in buckets.indices where buckets[index].resident { try reduceGradient(index) }
    }

    /// `reduceGradients` for one unit's buckets (sharded weights: after its backward pass).
    public func reduceGradients(unit: Int) throws(TorchError) {
        for index in unitBuckets[unit] { try reduceGradient(index) }
    }

    func reduceGradient(_ index: Int) throws(TorchError) {
        let bucket = buckets[index]
        try withNoGrad { () throws(TorchError) in
            let shard = try group.reduceScatter(try flat(bucket) { parameters[$0].tensor.grad })
            if let sum = bucket.gradient { try sum.add_(shard) } else { bucket.gradient = shard }
            for i in bucket.members { try parameters[i].tensor.zeroGrad() }
        }
    }

    /// The norm of the summed gradient (all shards), scaled down to `maxNorm` when above it,
    /// as `clipGradientNorm` does for a whole gradient; returns the norm before clipping.
    public func clipGradientNorm(maxNorm: Double) throws(TorchError) -> Double {
        try withNoGrad { () throws(TorchError) -> Double in
            var squares = 0.0
            for bucket in buckets {
                // float64: a float32 sum of millions drifts
                if let g = bucket.gradient { squares += try g.to(.float64).square().sum().item() }
            }
            let total = try Tensor([squares], shape: [1])
            try group.allReduce(total)
            let norm = try total.item().squareRoot()
            guard norm.isFinite else { return norm }
            let coefficient = maxNorm / (norm + 1e-6)
            if coefficient < 1 {
                for bucket in buckets { try bucket.gradient?.mul_(coefficient) }
            }
            return norm
        }
    }

    /// The update on this rank's shards, then every rank's updated shards into the parameters.
    public func step() throws(TorchError) {
        rule.stepCount += 1
        try withNoGrad { () throws(TorchError) in
            for bucket in buckets {
                guard let g = bucket.gradient else {
                    throw TorchError(operation: "ShardedAdamW.step", message: "no gradient shards: call reduceGradients() first")
                }
                if bucket.master == nil { bucket.master = try currentShard(bucket) }
                guard let master = bucket.master else { continue }
                if bucket.firstMoment == nil { bucket.firstMoment = try master.zerosLike() }
                if bucket.secondMoment == nil { bucket.secondMoment = try master.zerosLike() }
                guard let m = bucket.firstMoment, let v = bucket.secondMoment else { continue }
                try rule.update(master, gradient: g, firstMoment: m, secondMoment: v)
                bucket.gradient = nil
                if shardsParameters { continue }  // gathered at its next use
                try scatterBack(try group.allGather(master).reshape([-1]), into: bucket)
                // Float32 weights are their own master copy (the copy back is exact): the
                // shard is cut from them again next step instead of being kept.
                if bucket.dtype == .float32 { bucket.master = nil }
            }
        }
        if shardsParameters { try releaseAll() }  // weights in place are from before the step
    }

    /// Bytes of optimizer state this rank keeps between steps (moments and master shards).
    public var stateBytes: Int {
        buckets.reduce(0) { total, bucket in
            total + [bucket.firstMoment, bucket.secondMoment, bucket.master].reduce(0) { $0 + ($1.map { $0.count * 4 } ?? 0) }
        }
    }

    /// Drops the parameters' gradients and this rank's gradient shards.
    public func zeroGrad() throws(TorchError) {
        for parameter in parameters { try parameter.tensor.zeroGrad() }
        for bucket in buckets { bucket.gradient = nil }
    }

    /// This rank's shard of the bucket's weights as they are (float32 copy).
    func currentShard(_ bucket: Bucket) throws(TorchError) -> Tensor {
        try ownShard(bucket, of: try flat(bucket) { parameters[$0].tensor })
    }

    /// This rank's slice of a bucket's flat tensor (a private copy).
    func ownShard(_ bucket: Bucket, of flat: Tensor) throws(TorchError) -> Tensor {
        try flat.narrow(dim: 0, start: rank * bucket.shardLength, length: bucket.shardLength).clone()
    }

    /// Copies the flat values of a bucket (all ranks' shards) into its parameters.
    func scatterBack(_ flat: Tensor, into bucket: Bucket) throws(TorchError) {
        for (k, i) in bucket.members.enumerated() {
            try parameters[i].tensor.copy_(try flat.narrow(dim: 0, start: bucket.offsets[k], length: count(i)).reshape(shapes[i]))
        }
    }

    // MARK: Checkpoints

    /// Which elements of which flattened parameter rank `r` holds: [start, end) per name.
    public func pieces(ofRank r: Int) -> [(name: String, start: Int, end: Int)] {
        var out: [(name: String, start: Int, end: Int)] = []
        for bucket in buckets {
            for (k, i) in bucket.members.enumerated() {
                if let range = bucket.overlap(member: k, count: count(i), rank: r) {
                    out.append((parameters[i].name, range.lowerBound, range.upperBound))
                }
            }
        }
        return out
    }

    /// This rank's state for a checkpoint: 1-D pieces named as `AdamW.stateTensors` names
    /// whole tensors ("exp_avg.NAME", "exp_avg_sq.NAME", and "master.NAME" for
    /// reduced-precision parameters), covering the elements `pieces(ofRank: rank)` lists.
    /// Empty before the first step.
    public func shardState() throws(TorchError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for bucket in buckets {
            guard let m = bucket.firstMoment, let v = bucket.secondMoment else { continue }
            for (k, i) in bucket.members.enumerated() {
                let p = parameters[i]
                guard let range = bucket.overlap(member: k, count: count(i), rank: rank) else { continue }
                let start = bucket.offsets[k] + range.lowerBound - rank * bucket.shardLength  // within the shard
                let slice = { (t: Tensor) throws(TorchError) -> Tensor in try t.narrow(dim: 0, start: start, length: range.count) }
                out["exp_avg." + p.name] = try slice(m)
                out["exp_avg_sq." + p.name] = try slice(v)
                if let master = bucket.master, bucket.dtype == .bfloat16 || bucket.dtype == .float16 {
                    out["master." + p.name] = try slice(master)
                }
            }
        }
        return out
    }

    /// Restores from whole per-parameter state (what `AdamW.stateTensors` gives, or the
    /// pieces of a sharded checkpoint put back together): each rank keeps its shard. A
    /// parameter without moments starts them at zero; without a master copy, from its weights
    /// as they are at the next step (so weights may be restored before or after this).
    public func loadState(tensors: [String: Tensor], step: Int) throws(TorchError) {
        for (name, saved) in tensors {
            guard let dot = name.firstIndex(of: "."), let i = parameters.firstIndex(where: { $0.name == name[name.index(after: dot)...] })
            else { continue }
            guard saved.count == count(i) else {
                throw TorchError(
                    operation: "ShardedAdamW.loadState", message: "\(name) has shape \(saved.shape), the parameter \(shapes[i])")
            }
        }
        try loadState(step: step) { key, range throws(TorchError) in
            try tensors[key]?.reshape([-1]).narrow(dim: 0, start: range.lowerBound, length: range.count)
        }
    }

    /// Restores from a source of slices: `slice(key, range)` gives elements `range` of the
    /// flattened whole state `key` ("exp_avg.NAME", "exp_avg_sq.NAME", "master.NAME"), nil
    /// when the checkpoint has none. Each rank asks only for its own shard's elements, so a
    /// checkpoint read through mapped files costs a rank its 1/N, not the whole state.
    public func loadState(step: Int, slice: (String, Range<Int>) throws(TorchError) -> Tensor?) throws(TorchError) {
        try withNoGrad { () throws(TorchError) in
            for bucket in buckets {
                bucket.firstMoment = try savedShard(bucket, prefix: "exp_avg.", slice: slice)
                bucket.secondMoment = try savedShard(bucket, prefix: "exp_avg_sq.", slice: slice)
                // Buckets hold one dtype: reduced-precision ones have saved master copies; the
                // others (and any without) start theirs from the weights at the next step, or
                // now when the weights are sharded (the master is then their only copy: load
                // the weights into the gathered parameters first).
                let saved = try savedShard(bucket, prefix: "master.", slice: slice)
                if shardsParameters {
                    if let saved { bucket.master = saved } else if bucket.resident { bucket.master = try currentShard(bucket) }
                } else {
                    bucket.master = saved
                }
                bucket.gradient = nil
            }
        }
        rule.stepCount = step
    }

    /// This rank's shard [shardLength] float32 of the bucket's saved state `prefix`: each
    /// member's overlap with the shard, from `slice` (a member without it: zeros for moments,
    /// its weights for a master), padding zeros. Nil when no member has it saved.
    func savedShard(_ bucket: Bucket, prefix: String, slice: (String, Range<Int>) throws(TorchError) -> Tensor?) throws(TorchError)
        -> Tensor?
    {
        var parts: [Tensor] = []
        var found = false
        for (k, i) in bucket.members.enumerated() {
            let p = parameters[i]
            guard let range = bucket.overlap(member: k, count: count(i), rank: rank) else { continue }
            if let saved = try slice(prefix + p.name, range) {
                guard saved.count == range.count else {
                    throw TorchError(
                        operation: "ShardedAdamW.loadState", message: "\(prefix)\(p.name): \(saved.count) elements for \(range)")
                }
                parts.append(try saved.reshape([-1]).to(.float32).to(bucket.device))
                found = true
            } else if prefix == "master." {
                guard bucket.resident else { return nil }  // sharded weights: keep the master as it is
                parts.append(try p.tensor.reshape([-1]).narrow(dim: 0, start: range.lowerBound, length: range.count).to(.float32))
            } else {
                parts.append(try Tensor.zeros([range.count], device: bucket.device))
            }
        }
        guard found else { return nil }
        let filled = parts.reduce(0) { $0 + $1.count }
        if filled < bucket.shardLength { parts.append(try Tensor.zeros([bucket.shardLength - filled], device: bucket.device)) }
        return try Tensor.cat(parts).clone()
    }
}
