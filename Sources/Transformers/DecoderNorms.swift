import ModelFormats
import Torch

/// RMSNorm over each head of the queries and keys before RoPE (`DecoderFeatures.queryKeyNorms`:
/// Gemma 3, Qwen3), [head_dim] each.
struct QueryKeyNorms {
    let query: Tensor
    let key: Tensor
}

/// Norms on each sub-layer's output before its residual add (`DecoderFeatures.sandwichNorms`:
/// Gemma 3), [hidden] each. (The block's pre-MLP norm, `pre_feedforward_layernorm`, then
/// takes the place of Llama's `post_attention_layernorm`.)
struct SublayerOutputNorms {
    let attention: Tensor
    let feedforward: Tensor
}

extension CausalLMConfig {
    /// RMSNorm over the last dimension (`size`): x·w, or x·(1 + w) with `features.normOffset`
    /// (Gemma; weights as Hugging Face stores them: the offset is not in the file), computed in
    /// float32 — the 1 added to the float32 weight, the product too — and cast back to x's
    /// dtype at the end, as transformers' Gemma3RMSNorm does: adding 1 in bfloat16 rounds
    /// every offset weight (bfloat16 keeps 8 bits: 1 + w loses w's low bits).
    func norm(_ x: Tensor, _ weight: Tensor, size: Int) throws(TorchError) -> Tensor {
        guard features.normOffset else { return try x.rmsNorm([size], weight: weight, eps: rmsNormEps) }
        let dtype = x.dtype
        guard dtype != .float32 else { return try x.rmsNorm([size], weight: try weight.to(.float32) + 1, eps: rmsNormEps) }
        return try x.to(.float32).rmsNorm([size], weight: try weight.to(.float32) + 1, eps: rmsNormEps).to(dtype)
    }

    /// The MLP's gate activation (`hidden_act`): SiLU, or GELU (exact, or with the tanh
    /// approximation: `gelu_tanh`, `gelu_pytorch_tanh`).
    func activate(_ gate: Tensor) throws(TorchError) -> Tensor {
        switch hiddenAct {
        case "silu", "swish": try gate.silu()
        default: try gate.gelu(approximate: hiddenAct != "gelu")
        }
    }

    /// √hidden with `features.scaledEmbeddings`, rounded to the weights' dtype as
    /// transformers does; nil without.
    func embeddingScale(_ dtype: DType) -> Double? {
        guard features.scaledEmbeddings else { return nil }
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
