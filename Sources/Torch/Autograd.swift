import CTorch

/// Reverse-mode differentiation, as libtorch's autograd provides it.
extension Tensor {
    public var requiresGrad: Bool { ct_requires_grad(handle) }
    /// True for tensors created by the user rather than by an operation on tracked tensors.
    public var isLeaf: Bool { ct_is_leaf(handle) }

    /// Marks a leaf tensor as a parameter whose gradient is accumulated in `grad`.
    @discardableResult
    public func requiresGrad(_ flag: Bool = true) throws(TorchError) -> Tensor {
        try checked("requiresGrad", ct_set_requires_grad(handle, flag))
        return self
    }

    /// Accumulates d(self)/d(leaf) into every leaf's `grad`. A non-scalar self needs the
    /// upstream `gradient` of its shape. `retainGraph` keeps the graph for another pass.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws(TorchError) {
        try checked("backward", ct_backward(handle, gradient?.handle, retainGraph))
    }

    /// The accumulated gradient, nil until a backward pass reached this tensor.
    public var grad: Tensor? {
        var out: ct_tensor? = nil
        guard ct_grad(handle, &out), let out else { return nil }
        return Tensor(owning: out)
    }

    /// Makes `gradient` this tensor's accumulated gradient (same shape, dtype and device).
    public func setGrad(_ gradient: Tensor) throws(TorchError) {
        try checked("setGrad", ct_set_grad(handle, gradient.handle))
    }

    /// Points this tensor at `data`'s values, shape and strides while it stays the same
    /// tensor to autograd (a leaf keeps its gradient slot), as `t.data = data` in Python.
    /// Sharded parameters are freed (an empty `data`) and filled again this way.
    public func setData(_ data: Tensor) throws(TorchError) { try checked("setData", ct_set_data(handle, data.handle)) }

    /// Forgets the accumulated gradient (the next backward starts from zero).
    public func zeroGrad() throws(TorchError) { try checked("zeroGrad", ct_zero_grad(handle)) }

    /// Keeps the gradient of a non-leaf tensor after backward.
    public func retainGrad() throws(TorchError) { try checked("retainGrad", ct_retain_grad(handle)) }

    /// The same data cut from the autograd graph.
    public func detach() throws(TorchError) -> Tensor { try owned("detach", ct_detach(handle)) }
}

/// Runs `body` with gradient tracking off on this thread (inference, optimizer updates,
/// rollout generation), restoring the previous mode afterwards, also when it throws.
/// Grad mode is per thread: keep `body` synchronous.
public func withNoGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    let previous = ct_set_grad_enabled(false)
    defer { _ = ct_set_grad_enabled(previous) }
    return try body()
}

/// Whether operations on this thread are being recorded for autograd.
public var isGradEnabled: Bool { ct_is_grad_enabled() }
