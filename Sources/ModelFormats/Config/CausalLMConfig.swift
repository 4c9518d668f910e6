import SafeTensors

/// Architecture of a Llama-family decoder (Llama 1–3, SmolLM, Qwen2/2.5, Mistral): the
/// fields our model code needs, with the defaults transformers applies for missing keys.
public struct CausalLMConfig: Sendable, Equatable {
    public enum Family: String, Sendable {
        case llama, qwen2, mistral
    }

    /// RoPE frequency scaling beyond plain `theta`.
    public enum RopeScaling: Sendable, Equatable {
        /// Llama 3.1's smooth per-frequency scaling.
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)
        /// Position interpolation: positions divided by `factor`.
        case linear(factor: Double)
        /// Per-frequency divisors stored as a tensor (llama.cpp's `rope_freqs.weight`).
        case frequencyFactorsTensor(String)
    }

    public var family: Family
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    /// Biases on the q, k, v projections (Qwen2 always; Llama's `attention_bias`).
    public var qkvBias: Bool
    /// Bias on the output projection (Llama's `attention_bias` only).
    public var outputBias: Bool
    public var mlpBias: Bool
    public var hiddenAct: String
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// The dtype the weights were saved in (`torch_dtype` / `dtype`), when stated.
    public var dtype: String?

    /// Attention heads per key/value head.
    public var groupSize: Int { headCount / kvHeadCount }

    /// Number of parameters the shapes imply (embeddings counted once when tied).
    public var parameterCount: Int {
        let q = hiddenSize * headCount * headDim + (qkvBias ? headCount * headDim : 0)
        let kv = 2 * (hiddenSize * kvHeadCount * headDim + (qkvBias ? kvHeadCount * headDim : 0))
        let o = headCount * headDim * hiddenSize + (outputBias ? hiddenSize : 0)
        let mlp = 3 * hiddenSize * intermediateSize + (mlpBias ? 2 * intermediateSize + hiddenSize : 0)
        let block = q + kv + o + mlp + 2 * hiddenSize
        let embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2)
        return layerCount * block + embeddings + hiddenSize
    }

    func validate(_ source: String) throws(ModelFileError) {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: source, reason: reason) }
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                              ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                              ("num_key_value_heads", kvHeadCount), ("head_dim", headDim), ("max_position_embeddings", maxPositions)]
        where value <= 0 || value > 1 << 24 {
            throw fail("\(name) = \(value) is out of range")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("num_attention_heads (\(headCount)) is not a multiple of num_key_value_heads (\(kvHeadCount))")
        }
        guard headDim % 2 == 0 else { throw fail("head_dim (\(headDim)) must be even for rotary embeddings") }
        guard rmsNormEps > 0, rmsNormEps < 1 else { throw fail("rms_norm_eps = \(rmsNormEps) is out of range") }
        guard ropeTheta > 0 else { throw fail("rope_theta = \(ropeTheta) must be positive") }
        guard ["silu", "swish"].contains(hiddenAct) else { throw fail("hidden_act \(hiddenAct) is not supported (silu is)") }
    }
}

/// A BERT encoder (MiniLM, BERT, sentence-transformers checkpoints).
public struct BertConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var padTokenId: Int

    public var headDim: Int { hiddenSize / headCount }

    public var parameterCount: Int {
        let embeddings = (vocabSize + maxPositions + typeVocabSize) * hiddenSize + 2 * hiddenSize
        let attention = 4 * (hiddenSize * hiddenSize + hiddenSize) + 2 * hiddenSize
        let mlp = 2 * hiddenSize * intermediateSize + intermediateSize + hiddenSize + 2 * hiddenSize
        return embeddings + layerCount * (attention + mlp)
    }
}

/// What a model folder or GGUF file describes.
public enum ModelConfig: Sendable, Equatable {
    case causalLM(CausalLMConfig)
    case bert(BertConfig)

    public var architectureName: String {
        switch self {
        case .causalLM(let c): c.family.rawValue
        case .bert: "bert"
        }
    }
}
