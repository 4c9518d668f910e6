import CTorch

/// Reductions, sorting and scans. `dims: []` reduces over every dimension.
extension Tensor {
    func reduce(_ op: ct_reduce_op, _ dims: [Int], _ keepDim: Bool, _ name: String) throws(TorchError) -> Tensor {
        try owned(name, withInt64s(dims) { ct_reduce(op, handle, $0, $1, keepDim) })
    }

    public func sum(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_SUM, dims, keepDim, "sum")
    }
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_MEAN, dims, keepDim, "mean")
    }
    /// Maximum values over dims (no indices; see `max(dim:)`).
    public func amax(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_AMAX, dims, keepDim, "amax")
    }
    public func amin(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_AMIN, dims, keepDim, "amin")
    }
    /// log Σ exp, computed stably.
    public func logsumexp(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_LOGSUMEXP, dims, keepDim, "logsumexp")
    }
    public func prod(dim: Int? = nil, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_PROD, dim.map { [$0] } ?? [], keepDim, "prod")
    }
    public func any(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_ANY, dims, keepDim, "any")
    }
    public func all(dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try reduce(CT_REDUCE_ALL, dims, keepDim, "all")
    }

    /// Variance with `correction` subtracted from the count (1 = Bessel's, as PyTorch's default).
    public func variance(dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try owned("variance", withInt64s(dims) { ct_var(handle, $0, $1, Int64(correction), keepDim) })
    }

    public func std(dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try variance(dims: dims, correction: correction, keepDim: keepDim).sqrt()
    }

    /// The p-norm over dims (all elements by default).
    public func norm(_ p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor {
        try owned("norm", withInt64s(dims) { ct_norm(handle, p, $0, $1, keepDim) })
    }

    /// Maximum along `dim` with the index where it is reached.
    public func max(dim: Int, keepDim: Bool = false) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        var values: ct_tensor? = nil
        var indices: ct_tensor? = nil
        try checked("max", ct_max_dim(handle, Int64(dim), keepDim, &values, &indices))
        return (try owned("max", values), try owned("max", indices))
    }

    public func min(dim: Int, keepDim: Bool = false) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        var values: ct_tensor? = nil
        var indices: ct_tensor? = nil
        try checked("min", ct_min_dim(handle, Int64(dim), keepDim, &values, &indices))
        return (try owned("min", values), try owned("min", indices))
    }

    public func argmax(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try owned("argmax", ct_argmax(handle, Int64(dim), keepDim))
    }

    public func argmin(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try owned("argmin", ct_argmin(handle, Int64(dim), keepDim))
    }

    public func cumsum(dim: Int) throws(TorchError) -> Tensor {
        try owned("cumsum", ct_cumsum(handle, Int64(dim)))
    }

    /// The k largest (or smallest) values along `dim` and their indices.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) throws(TorchError)
        -> (values: Tensor, indices: Tensor)
    {
        var values: ct_tensor? = nil
        var indices: ct_tensor? = nil
        try checked("topk", ct_topk(handle, Int64(k), Int64(dim), largest, sorted, &values, &indices))
        return (try owned("topk", values), try owned("topk", indices))
    }

    public func sort(dim: Int = -1, descending: Bool = false) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        var values: ct_tensor? = nil
        var indices: ct_tensor? = nil
        try checked("sort", ct_sort(handle, Int64(dim), descending, &values, &indices))
        return (try owned("sort", values), try owned("sort", indices))
    }
}
