import Synchronization

/// What every view of the same weights shares (a LoRA policy and its adapter-free reference,
/// a view without packing): the packed copies (they hold base weights only, so one set
/// serves all), whether packing works on this machine, and, once the weights are sharded
/// over ranks, who gathers them (`FullyShardedModel`). These change with the weights'
/// storage, not with how one holder runs the model, so they are not settings of a view.
final class SharedWeightState: Sendable {
    let packed = Mutex<PackedWeights?>(nil)
    private let packing = Mutex(true)
    private let sharding = Mutex<(any BlockResidency)?>(nil)

    /// False once packing failed here or the weights were sharded.
    var packs: Bool { packing.withLock { $0 } }

    /// Where the weights are between uses when sharded (nil: always in place).
    var residency: (any BlockResidency)? { sharding.withLock { $0 } }

    /// Packing failed here (called with `packed` locked, which the caller empties).
    func packingFailed() {
        packing.withLock { $0 = false }
    }

    private func stopPacking() {
        packing.withLock { $0 = false }
        packed.withLock { $0 = nil }
    }

    /// The weights are now sharded and gathered by `residency`: packed copies would be a
    /// second whole model, so there are none from now on.
    func shard(by residency: any BlockResidency) {
        stopPacking()
        sharding.withLock { $0 = residency }
    }
}
