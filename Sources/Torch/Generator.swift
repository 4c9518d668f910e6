import CTorch

/// A seeded random-number stream, independent of the global one, so that sampling is
/// reproducible whatever else draws random numbers. Its state can be saved in checkpoints.
public final class Generator: @unchecked Sendable {
    let handle: ct_generator

    public init(seed: UInt64, device: Device = .cpu) throws(TorchError) {
        if case .cuda = device { CUDARuntime.load() }
        guard let handle = ct_generator_new(seed, device.typeCode, device.indexCode) else {
            throw TorchError.last("Generator(seed:)")
        }
        self.handle = handle
    }

    deinit { ct_generator_free(handle) }

    /// Restarts the stream from `seed`.
    public func seed(_ seed: UInt64) throws(TorchError) {
        try checked("Generator.seed", ct_generator_set_seed(handle, seed))
    }

    /// The complete state as bytes (a uint8 tensor), for checkpoints.
    public func state() throws(TorchError) -> Tensor {
        try owned("Generator.state", ct_generator_get_state(handle))
    }

    public func setState(_ state: Tensor) throws(TorchError) {
        try checked("Generator.setState", ct_generator_set_state(handle, state.handle))
    }
}
