import CTorch

/// Linear algebra and the primitives transformer models are built from.
extension Tensor {
    /// Matrix product with NumPy broadcasting rules.
    public func matmul(_ other: Tensor) throws(TorchError) -> Tensor {
        try owned("matmul", ct_matmul(handle, other.handle))
    }

    /// Batched matrix product: [B, n, m] · [B, m, p] → [B, n, p].
    public func bmm(_ other: Tensor) throws(TorchError) -> Tensor {
        try owned("bmm", ct_bmm(handle, other.handle))
    }

    /// x [*, in] · weightᵀ [in, out] + bias [out]; weight is [out, in] as in PyTorch.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws(TorchError) -> Tensor {
        try owned("linear", ct_linear(handle, weight.handle, bias?.handle))
    }

    /// Rows of `self` (a [vocab, dim] table) picked by integer `indices` of any shape.
    public func embedding(_ indices: Tensor) throws(TorchError) -> Tensor {
        try owned("embedding", ct_embedding(handle, indices.handle))
    }

    public func softmax(dim: Int) throws(TorchError) -> Tensor {
        try owned("softmax", ct_softmax(handle, Int64(dim)))
    }

    public func logSoftmax(dim: Int) throws(TorchError) -> Tensor {
        try owned("logSoftmax", ct_log_softmax(handle, Int64(dim)))
    }

    /// Normalises over the trailing `normalizedShape` dimensions.
    public func layerNorm(_ normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double) throws(TorchError) -> Tensor {
        try owned(
            "layerNorm",
            withInt64s(normalizedShape) {
                ct_layer_norm(handle, $0, $1, weight?.handle, bias?.handle, eps)
            })
    }

    /// x / sqrt(mean(x², trailing dims) + eps) · weight.
    public func rmsNorm(_ normalizedShape: [Int], weight: Tensor?, eps: Double) throws(TorchError) -> Tensor {
        try owned("rmsNorm", withInt64s(normalizedShape) { ct_rms_norm(handle, $0, $1, weight?.handle, eps) })
    }
}

/// ATen's fused scaled-dot-product attention.
///
/// - query: [batch, heads, queryLength, headDim]; key and value: [batch, kvHeads, keyLength, headDim].
/// - mask: bool (true = may attend) or additive float, broadcastable to
///   [batch, heads, queryLength, keyLength]; combine padding and causality into it, or pass
///   `causal` alone (top-left aligned, as PyTorch).
/// - groupedQuery: allow kvHeads < heads (grouped-query attention; heads % kvHeads == 0).
/// - scale: defaults to 1/sqrt(headDim).
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, causal: Bool = false,
    dropout: Double = 0, scale: Double? = nil, groupedQuery: Bool = false
) throws(TorchError) -> Tensor {
    try owned(
        "scaledDotProductAttention",
        ct_sdpa(query.handle, key.handle, value.handle, mask?.handle, dropout, causal, scale != nil, scale ?? 0, groupedQuery))
}

extension Tensor {
    /// `log_softmax(self · weightᵀ / temperature)` at `targets`, for self [N, H], weight
    /// [V, H], targets [N] int64 → [N] f32, differentiable in self and weight.
    ///
    /// The [N, V] logits need not exist at once: rows are processed `chunk` at a time in the
    /// forward pass, and the backward pass recomputes each block except those kept from the
    /// forward pass within `keptLogitsBytes` (f32; only when autograd records the call) — one
    /// matmul of the head fewer per kept block. When `entropy` ([N] f32) is given, each row's
    /// entropy is written into it (no gradient).
    public func linearLogProbs(
        weight: Tensor, targets: Tensor, temperature: Double = 1, chunk: Int = 128, entropy: Tensor? = nil, keptLogitsBytes: Int = 0
    ) throws(TorchError) -> Tensor {
        guard temperature > 0 else {
            throw TorchError(operation: "linearLogProbs", message: "temperature must be positive, got \(temperature)")
        }
        return try owned(
            "linearLogProbs",
            ct_linear_log_probs(
                handle, weight.handle, targets.handle, 1 / temperature, Int64(chunk), entropy?.handle, Int64(Swift.max(keptLogitsBytes, 0)))
        )
    }
}

extension Tensor {
    /// This [out, in] weight reordered for `packedLinear` (oneDNN's blocked layout, CPU,
    /// f32 or bf16). A separate copy: it does not follow later changes to the weight.
    public func packedForLinear(batchHint: Int = 0) throws(TorchError) -> Tensor {
        try owned("packedForLinear", ct_pack_linear_weight(handle, Int64(batchHint)))
    }

    /// `linear` with a weight from `packedForLinear`; no autograd (inference only).
    public func packedLinear(_ packed: Tensor, bias: Tensor? = nil) throws(TorchError) -> Tensor {
        try owned("packedLinear", ct_packed_linear(handle, packed.handle, bias?.handle))
    }

    /// Counter bumped by every in-place change of the tensor's data (optimizer steps, copy_).
    public var dataVersion: Int { Int(ct_data_version(handle)) }
}
