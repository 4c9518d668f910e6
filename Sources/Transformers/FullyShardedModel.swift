import Torch

/// FSDP for a decoder: its weights sharded over the ranks of a group, one unit per decoder
/// block and one for the rest (embedding, final norm, head). A block's unit is gathered just
/// before the block runs and freed after it (again for gradient checkpointing's recompute,
/// with its gradient reduce-scattered as soon as the block's backward pass is done); the
/// rest is gathered for a whole update. Installed as the residency of the model's weights; the sharded
/// optimizer (`optimizer`) holds the shards and steps them.
///
/// Between uses a rank keeps 1/N of the weights (as float32 masters) and of AdamW's state.
/// Whole-model work (generation, saving) runs inside `withWholeModel`.
public final class FullyShardedModel: BlockResidency, @unchecked Sendable {
    public let optimizer: ShardedAdamW
    /// The unit of each decoder block, and of everything else.
    let blockUnits: [Int]
    let rootUnit: Int
    /// Inside `withWholeModel`: blocks stay gathered after they run (a generation runs each
    /// block once per decoded token).
    var wholeModelDepth = 0

    /// Shards `model`'s trainable weights (`rule.parameters`, named as `model.parameters`
    /// names them) and frees them; `rule` gives AdamW's hyperparameters.
    public init(model: CausalLM, group: ProcessGroup, rule: AdamW) throws(TorchError) {
        guard model.lora == nil else {
            throw TorchError(operation: "FullyShardedModel", message: "LoRA adapters are not sharded (use dist.strategy ddp or zero2)")
        }
        let blocks = model.config.layerCount
        var units = [[Int]](repeating: [], count: blocks + 1)
        for (i, parameter) in rule.parameters.enumerated() {
            units[Self.block(of: parameter.name, blocks: blocks) ?? blocks].append(i)
        }
        optimizer = try ShardedAdamW(parameters: rule.parameters, group: group, rule: rule, units: units)
        blockUnits = Array(0..<blocks)
        rootUnit = blocks
        model.shard(by: self)
    }

    /// A frozen model (a reference) sharded the same way: its shards are only gathered,
    /// never stepped (its optimizer keeps no moments).
    public convenience init(frozen model: CausalLM, group: ProcessGroup) throws(TorchError) {
        try self.init(model: model, group: group, rule: AdamW(parameters: model.parameters, learningRate: 0))
    }

    /// The block of a weight named "model.layers.N.…", nil for the others.
    public static func block(of name: String, blocks: Int) -> Int? {
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let n = rest.split(separator: ".", maxSplits: 1).first.flatMap({ Int($0) }), n < blocks else { return nil }
        return n
    }

    public func willRun(block index: Int) throws(TorchError) {
        try optimizer.gather(unit: blockUnits[index])
    }

    public func didRunWithoutGrad(block index: Int) throws(TorchError) {
        guard wholeModelDepth == 0 else { return }
        try optimizer.release(unit: blockUnits[index])
        clearAutocastCache()  // else autocast's copy of the freed weights lives on
    }

    public func didBackward(block index: Int) throws(TorchError) {
        try optimizer.reduceGradients(unit: blockUnits[index])
        try optimizer.release(unit: blockUnits[index])
        clearAutocastCache()
    }

    /// Before a pass over micro-batches: the blocks freed (each is gathered when it runs),
    /// the rest gathered until the step.
    public func prepareUpdate() throws(TorchError) {
        for unit in blockUnits { try optimizer.release(unit: unit) }
        try optimizer.gather(unit: rootUnit)
    }

    /// `body` with every weight in place (generation, saving); every weight freed after it.
    /// Weights changed inside are lost unless the optimizer takes them as its shards
    /// (`ShardedAdamW.loadState` does, for a restore).
    public func withWholeModel<R>(_ body: () throws -> R) throws -> R {
        try optimizer.gatherAll()
        wholeModelDepth += 1
        let result: R
        do { result = try body() } catch {
            wholeModelDepth -= 1
            if wholeModelDepth == 0 { try? optimizer.releaseAll() }
            throw error
        }
        wholeModelDepth -= 1
        if wholeModelDepth == 0 { try optimizer.releaseAll() }
        return result
    }
}
