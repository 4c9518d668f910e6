import ModelFormats
import Torch

// Inference-only speed paths of the Llama-family decoder (CausalLM.swift): on the CPU,
// matmul weights pre-packed in oneDNN's layout, and single-query attention in reduced
// precision as batched matmuls instead of ATen's per-head fused kernel.

extension CausalLM {
    /// The packed weights when this forward pass may use them (CPU, no autograd, f32/bf16),
    /// repacked when any weight changed since (their data versions move on every in-place
    /// update, so an optimizer step is noticed without being told).
    func inferenceWeights() -> PackedWeights? {
        guard device == .cpu, dtype == .float32 || dtype == .bfloat16, !isGradEnabled, usesPackedInference, shared.packs else { return nil }
        let version = layers.reduce(head.dataVersion) { $0 &+ $1.dataVersion }
        return shared.packed.withLock { current -> PackedWeights? in
            if let current, current.version == version { return current }
            // The stale copies go before the fresh ones are made: holding both would take a
            // second whole model at the start of every generation after an update.
            current = nil
            do {
                let fresh = try PackedWeights(layers: layers, head: head, version: version)
                try fresh.check(against: layers[0])
                current = fresh
                return current
            } catch {
                current = nil
                shared.packingFailed()  // oneDNN packing unavailable: plain matmuls from now on
                return nil
            }
        }
    }
}

/// oneDNN-packed copies of every matmul weight, for inference on the CPU.
final class PackedWeights: @unchecked Sendable {
    struct Layer {
        let q, k, v, o, gate, up, down: Tensor
    }
    let layers: [Layer]
    let head: Tensor
    /// Sum of the data versions of the weights these were packed from.
    let version: Int

    init(layers: [DecoderLayer], head: Tensor, version: Int) throws(TorchError) {
        self.layers = try layers.map { (l) throws(TorchError) -> Layer in
            Layer(
                q: try l.q.weight.packedForLinear(), k: try l.k.weight.packedForLinear(), v: try l.v.weight.packedForLinear(),
                o: try l.o.weight.packedForLinear(), gate: try l.gate.weight.packedForLinear(),
                up: try l.up.weight.packedForLinear(), down: try l.down.weight.packedForLinear())
        }
        self.head = try head.packedForLinear()
        self.version = version
    }

    /// One product through the packed path compared with the plain one, so a libtorch
    /// whose oneDNN ops behave differently is detected before it is used.
    func check(against layer: DecoderLayer) throws(TorchError) {
        let input = try Tensor.ones([2, layer.q.weight.shape[1]], dtype: layer.q.weight.dtype)
        let plain = try input.linear(layer.q.weight, bias: layer.q.bias)
        let fast = try input.packedLinear(layers[0].q, bias: layer.q.bias)
        let scale = try plain.abs().amax().item() + 1
        guard try (plain - fast).abs().amax().item() <= 1e-2 * scale else {
            throw TorchError(operation: "packedLinear", message: "packed and plain products disagree")
        }
    }
}

extension DecoderLayer {
    /// Attention of single queries q [B, heads, 1, d] over k, v [B, kv_heads, L, d]: the
    /// `heads / kv_heads` query heads sharing a key/value head become rows of one product
    /// (head h uses key/value head h / group, Hugging Face's `repeat_kv` order). Products,
    /// scores and softmax in f32, as fused attention kernels (flash, sdpa) keep them: a score
    /// rounded to bfloat16 before the softmax is off by up to 2⁻⁹ of its size, which for
    /// scores of ~10 moves a probability by about 2 %.
    static func groupedDecodeAttention(
        query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask, config: CausalLMConfig
    ) throws(TorchError) -> Tensor {
        let batch = query.shape[0]
        let group = config.headCount / config.kvHeadCount
        let q = try query.reshape([batch, config.kvHeadCount, group, config.headDim]).to(.float32)
        var scores = try q.matmul(key.to(.float32).transpose(2, 3)) * (config.attentionScale ?? 1 / Double(config.headDim).squareRoot())
        if case .mask(let m) = mask { scores = try scores.maskedFill(try m.logicalNot(), -Double.infinity) }  // m [B, 1, 1, L]
        let weights = try scores.softmax(dim: -1)
        return try weights.matmul(value.to(.float32)).to(query.dtype).reshape([batch, config.headCount, 1, config.headDim])
    }
}
