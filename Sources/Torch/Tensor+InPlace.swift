import CTorch

/// In-place updates, named with a trailing underscore as in PyTorch. Used by optimizers,
/// KV caches and weight loading; they bypass autograd only inside `withNoGrad`.
extension Tensor {
    /// Copies `source` (broadcast, converted) into self.
    public func copy_(_ source: Tensor) throws(TorchError) { try checked("copy_", ct_copy_(handle, source.handle)) }
    public func fill_(_ value: Scalar) throws(TorchError) { try checked("fill_", ct_fill_(handle, value.c)) }
    public func zero_() throws(TorchError) { try checked("zero_", ct_zero_(handle)) }
    /// self[…, index[i], …] = source[…, i, …] along `dim` (index: int64 on self's device).
    public func indexCopy_(dim: Int, index: Tensor, source: Tensor) throws(TorchError) {
        try checked("index_copy_", ct_index_copy_(handle, Int64(dim), index.handle, source.handle))
    }
    /// self[…, index[i], …] = value along `dim`.
    public func indexFill_(dim: Int, index: Tensor, value: Scalar) throws(TorchError) {
        try checked("index_fill_", ct_index_fill_(handle, Int64(dim), index.handle, value.c))
    }
    /// self += alpha · other
    public func add_(_ other: Tensor, alpha: Double = 1) throws(TorchError) {
        try checked("add_", ct_add_(handle, other.handle, alpha))
    }
    public func add_(_ value: Double) throws(TorchError) { try checked("add_", ct_add_scalar_(handle, value)) }
    public func mul_(_ other: Tensor) throws(TorchError) { try checked("mul_", ct_mul_(handle, other.handle)) }
    public func mul_(_ value: Double) throws(TorchError) { try checked("mul_", ct_mul_scalar_(handle, value)) }
    /// self += value · a · b
    public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try checked("addcmul_", ct_addcmul_(handle, a.handle, b.handle, value))
    }
    /// self += value · a / b
    public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try checked("addcdiv_", ct_addcdiv_(handle, a.handle, b.handle, value))
    }
    /// self += weight · (end − self)
    public func lerp_(_ end: Tensor, weight: Double) throws(TorchError) {
        try checked("lerp_", ct_lerp_(handle, end.handle, weight))
    }
}
