import CTorch

/// Views, reshapes and indexing. Views share storage with their source, as in PyTorch.
extension Tensor {
    /// A tensor of the given shape with the same elements; one size may be -1.
    public func reshape(_ shape: [Int]) throws(TorchError) -> Tensor {
        try owned("reshape", withInt64s(shape) { ct_reshape(handle, $0, $1) })
    }

    /// Like `reshape` but never copies: fails when the strides do not allow a view.
    public func view(_ shape: [Int]) throws(TorchError) -> Tensor {
        try owned("view", withInt64s(shape) { ct_view(handle, $0, $1) })
    }

    public func permute(_ dims: [Int]) throws(TorchError) -> Tensor {
        try owned("permute", withInt64s(dims) { ct_permute(handle, $0, $1) })
    }

    public func transpose(_ dim0: Int, _ dim1: Int) throws(TorchError) -> Tensor {
        try owned("transpose", ct_transpose(handle, Int64(dim0), Int64(dim1)))
    }

    public func squeeze(_ dim: Int) throws(TorchError) -> Tensor {
        try owned("squeeze", ct_squeeze(handle, Int64(dim)))
    }

    public func unsqueeze(_ dim: Int) throws(TorchError) -> Tensor {
        try owned("unsqueeze", ct_unsqueeze(handle, Int64(dim)))
    }

    public func flatten(startDim: Int = 0, endDim: Int = -1) throws(TorchError) -> Tensor {
        try owned("flatten", ct_flatten(handle, Int64(startDim), Int64(endDim)))
    }

    /// Broadcasts size-1 dimensions to `shape` without copying (-1 keeps a size).
    public func expand(_ shape: [Int]) throws(TorchError) -> Tensor {
        try owned("expand", withInt64s(shape) { ct_expand(handle, $0, $1) })
    }

    /// Tiles the tensor `repeats[i]` times along dimension i (copies).
    public func repeated(_ repeats: [Int]) throws(TorchError) -> Tensor {
        try owned("repeat", withInt64s(repeats) { ct_repeat(handle, $0, $1) })
    }

    public func contiguous() throws(TorchError) -> Tensor {
        try owned("contiguous", ct_contiguous(handle))
    }

    /// Elements start ..< start + length along `dim` (a view).
    public func narrow(dim: Int, start: Int, length: Int) throws(TorchError) -> Tensor {
        try owned("narrow", ct_narrow(handle, Int64(dim), Int64(start), Int64(length)))
    }

    /// Elements start, start + step, … below end along `dim` (a view); indices clamp like Python slices.
    public func slice(dim: Int, start: Int = 0, end: Int = Int.max, step: Int = 1) throws(TorchError) -> Tensor {
        try owned("slice", ct_slice(handle, Int64(dim), Int64(start), Int64(end), Int64(step)))
    }

    /// Removes `dim` by taking one index of it (a view).
    public func select(dim: Int, index: Int) throws(TorchError) -> Tensor {
        try owned("select", ct_select(handle, Int64(dim), Int64(index)))
    }

    public func indexSelect(dim: Int, index: Tensor) throws(TorchError) -> Tensor {
        try owned("indexSelect", ct_index_select(handle, Int64(dim), index.handle))
    }

    /// out[i][j] = self[i][index[i][j]] for dim 1 (and likewise for other dims).
    public func gather(dim: Int, index: Tensor) throws(TorchError) -> Tensor {
        try owned("gather", ct_gather(handle, Int64(dim), index.handle))
    }

    /// A copy with `source` written at `index` along `dim`.
    public func scatter(dim: Int, index: Tensor, source: Tensor) throws(TorchError) -> Tensor {
        try owned("scatter", ct_scatter(handle, Int64(dim), index.handle, source.handle))
    }

    /// A copy with `source` added at `index` along `dim` (duplicates accumulate).
    public func scatterAdd(dim: Int, index: Tensor, source: Tensor) throws(TorchError) -> Tensor {
        try owned("scatterAdd", ct_scatter_add(handle, Int64(dim), index.handle, source.handle))
    }

    /// The elements where `mask` is true, as one dimension.
    public func maskedSelect(_ mask: Tensor) throws(TorchError) -> Tensor {
        try owned("maskedSelect", ct_masked_select(handle, mask.handle))
    }

    /// Lower triangle (elements above `diagonal` zeroed).
    public func tril(_ diagonal: Int = 0) throws(TorchError) -> Tensor {
        try owned("tril", ct_tril(handle, Int64(diagonal)))
    }

    /// Upper triangle (elements below `diagonal` zeroed).
    public func triu(_ diagonal: Int = 0) throws(TorchError) -> Tensor {
        try owned("triu", ct_triu(handle, Int64(diagonal)))
    }

    public func flip(_ dims: [Int]) throws(TorchError) -> Tensor {
        try owned("flip", withInt64s(dims) { ct_flip(handle, $0, $1) })
    }

    /// Indices of non-zero elements, [count, rank].
    public func nonzero() throws(TorchError) -> Tensor {
        try owned("nonzero", ct_nonzero(handle))
    }

    /// Concatenates along an existing dimension.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
        try owned("cat", withHandles(tensors) { ct_cat($0, $1, Int64(dim)) })
    }

    /// Stacks along a new dimension.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
        try owned("stack", withHandles(tensors) { ct_stack($0, $1, Int64(dim)) })
    }
}

/// Passes the tensors' handles as a C array; the tensors stay alive for the call.
func withHandles<R>(_ tensors: [Tensor], _ body: (UnsafePointer<ct_tensor?>?, Int32) -> R) -> R {
    let handles: [ct_tensor?] = tensors.map { $0.handle }
    return withExtendedLifetime(tensors) {
        handles.withUnsafeBufferPointer { body($0.baseAddress, Int32($0.count)) }
    }
}
