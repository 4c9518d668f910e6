/// What a decoder block does beyond Llama's, by name rather than by family: the model code
/// asks for a feature, and a family is a description of which features it has (`init(_:)`).
/// Biases (`qkvBias`, `outputBias`, `mlpBias`), sliding-window layers (`slidingLayers`) and
/// the activation (`hiddenAct`) are read from config.json's keys instead.
public struct DecoderFeatures: Sendable, Equatable {
    /// RMSNorm over each head of the queries and keys before RoPE (`self_attn.q_norm`,
    /// `self_attn.k_norm`, [head_dim] each).
    public var queryKeyNorms = false
    /// Each sub-layer's output is normed before its residual add (`post_attention_layernorm`
    /// on the attention output, `post_feedforward_layernorm` on the MLP's); the pre-MLP norm
    /// is then `pre_feedforward_layernorm`.
    public var sandwichNorms = false
    /// RMSNorm as x·(1 + w), computed in float32 (the offset is not in the stored weight).
    public var normOffset = false
    /// Token embeddings scaled by √hidden (rounded to the weights' dtype).
    public var scaledEmbeddings = false
    /// Sliding-window layers use their own RoPE theta (`rope_local_base_freq`).
    public var slidingRopeTheta = false

    public init() {}

    /// The features of `family`'s decoder block.
    public init(_ family: CausalLMConfig.Family) {
        switch family {
        case .llama, .qwen2, .mistral: break
        case .qwen3:
            queryKeyNorms = true
        case .gemma3:
            (queryKeyNorms, sandwichNorms, normOffset, scaledEmbeddings, slidingRopeTheta) = (true, true, true, true, true)
        }
    }
}
