import CTorch

/// Runs `body` under libtorch's autocast (automatic mixed precision) for `device`'s type:
/// matmuls, linear layers and attention run in `dtype` (bfloat16 or float16) on copies of
/// their float32 inputs, while weights, their gradients and the optimizer stay float32 and
/// reductions and norms keep float32 — what `torch.autocast(device, dtype)` does. A weight
/// is cast once per outermost region, so keep the forward and backward passes of all
/// micro-batches of an update in one call. Autocast state is per thread: keep `body`
/// synchronous. `dtype` nil runs `body` as it is.
public func withAutocast<R>(_ dtype: DType?, device: Device, _ body: () throws -> R) throws -> R {
    guard let dtype else { return try body() }
    var wasEnabled = false
    var wasDType: Int32 = 0
    guard ct_autocast_enter(device.typeCode, dtype.rawValue, &wasEnabled, &wasDType) else { throw TorchError.last("autocast") }
    defer { ct_autocast_exit(device.typeCode, wasEnabled, wasDType) }
    return try body()
}

/// Drops autocast's reduced-precision copies of weights now rather than when the outermost
/// region ends (sharded weights that were just freed would otherwise live on in it).
public func clearAutocastCache() { ct_autocast_clear_cache() }
