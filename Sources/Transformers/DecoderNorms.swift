import ModelFormats
import Torch

/// Gemma 3's extra norms in a decoder block (Llama has none of these): RMSNorm over each
/// head of the queries and keys before RoPE, on the attention output, and on the MLP output
/// — each sub-layer's output is normed before the residual add. (Its pre-MLP norm,
/// `pre_feedforward_layernorm`, takes the place of Llama's `post_attention_layernorm`.)
struct GemmaBlockNorms {
    /// [head_dim] each.
    let query: Tensor
    let key: Tensor
    /// [hidden] each.
    let attentionOutput: Tensor
    let feedforwardOutput: Tensor

    var tensors: [Tensor] { [query, key, attentionOutput, feedforwardOutput] }
}

extension CausalLMConfig {
    /// RMSNorm over the last dimension (`size`): x·w, or Gemma's x·(1 + w) (weights as
    /// Hugging Face stores them: the offset is not in the file). Gemma's is computed in
    /// float32 — the 1 added to the float32 weight, the product too — and cast back to x's
    /// dtype at the end, as transformers' Gemma3RMSNorm does: adding 1 in bfloat16 rounds
    /// every offset weight (bfloat16 keeps 8 bits: 1 + w loses w's low bits).
    func norm(_ x: Tensor, _ weight: Tensor, size: Int) throws(TorchError) -> Tensor {
        guard gemma != nil else { return try x.rmsNorm([size], weight: weight, eps: rmsNormEps) }
        let dtype = x.dtype
        guard dtype != .float32 else { return try x.rmsNorm([size], weight: try weight.to(.float32) + 1, eps: rmsNormEps) }
        return try x.to(.float32).rmsNorm([size], weight: try weight.to(.float32) + 1, eps: rmsNormEps).to(dtype)
    }

    /// The MLP's gate activation: SiLU (Llama) or GELU with the tanh approximation (Gemma).
    func activate(_ gate: Tensor) throws(TorchError) -> Tensor {
        gemma == nil ? try gate.silu() : try gate.gelu(approximate: hiddenAct != "gelu")
    }

    /// Gemma scales embeddings by √hidden, rounded to the weights' dtype as transformers does.
    func embeddingScale(_ dtype: DType) -> Double? {
        guard gemma != nil else { return nil }
        let scale = Double(hiddenSize).squareRoot()
        switch dtype {
        case .bfloat16:
            let bits = Float(scale).bitPattern
            return Double(Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000))
        case .float16: return Double(Float(Float16(scale)))
        default: return Double(Float(scale))
        }
    }
}

/// The attention masks of one forward pass: the causal one and, for models with
/// sliding-window layers, the windowed one (keys less than `window` slots back).
struct LayerMasks {
    let full: AttentionMask
    let sliding: AttentionMask?

    func forLayer(_ i: Int, config: CausalLMConfig) -> AttentionMask {
        config.slides(i) ? sliding ?? full : full
    }
}
