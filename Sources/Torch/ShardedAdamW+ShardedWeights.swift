/// FSDP's side of `ShardedAdamW` (`init(parameters:group:rule:units:)`): a unit's weights
/// gathered from every rank's master shard into one flat buffer the weights point into, and
/// freed again; each is a no-op for a unit already in that state.
extension ShardedAdamW {
    /// Makes unit `unit`'s weights whole: all-gathers each bucket's master shards (cast to
    /// the weights' dtype) into one flat buffer and points the weights at their views of it.
    /// A no-op when they are in place.
    public func gather(unit: Int) throws(TorchError) {
        try withNoGrad { () throws(TorchError) in
            for index in unitBuckets[unit] where !buckets[index].resident {
                let bucket = buckets[index]
                guard let master = bucket.master else {
                    throw TorchError(
                        operation: "ShardedAdamW.gather", message: "unit \(unit) has no shard to gather (its weights were never sharded)")
                }
                let whole = try group.allGather(master).reshape([-1]).to(bucket.dtype)
                for (k, i) in bucket.members.enumerated() {
                    try parameters[i].tensor.setData(try whole.narrow(dim: 0, start: bucket.offsets[k], length: count(i)).view(shapes[i]))
                }
                bucket.resident = true
            }
        }
    }

    /// Frees unit `unit`'s weights (each becomes an empty tensor until the next `gather`).
    /// Their gradients must have been reduced (or be unwanted).
    public func release(unit: Int) throws(TorchError) {
        try withNoGrad { () throws(TorchError) in
            for index in unitBuckets[unit] where buckets[index].resident {
                let bucket = buckets[index]
                for i in bucket.members {
                    try parameters[i].tensor.zeroGrad()
                    try parameters[i].tensor.setData(try Tensor.zeros([0], dtype: bucket.dtype, device: bucket.device))
                }
                bucket.resident = false
            }
        }
    }

    public var unitCount: Int { unitBuckets.count }

    /// Every unit gathered (generation, saving), or every unit freed.
    public func gatherAll() throws(TorchError) {
        for unit in unitBuckets.indices { try gather(unit: unit) }
    }

    public func releaseAll() throws(TorchError) {
        for unit in unitBuckets.indices { try release(unit: unit) }
    }

    /// Elements of weights this rank holds in place now: all of them unless sharded.
    public var residentElements: Int {
        buckets.reduce(0) { $0 + ($1.resident ? $1.count : 0) }
    }
}
