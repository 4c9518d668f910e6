/// The keys of a Hugging Face `config.json` that we read and write. Every key is optional:
/// transformers fills missing ones with per-model-type defaults (`ModelConfig.parse`), and
/// keys we do not use are ignored on reading.
public struct HuggingFaceConfig: Codable, Sendable, Equatable {
    public var architectures: [String]?
    public var modelType: String?
    public var vocabSize: Int?
    public var hiddenSize: Int?
    public var intermediateSize: Int?
    public var numHiddenLayers: Int?
    public var numAttentionHeads: Int?
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var rmsNormEps: Double?
    public var ropeTheta: Double?
    /// transformers ≤ 4.x: RoPE scaling beside a top-level `rope_theta`.
    public var ropeScaling: RopeParameters?
    /// transformers 5: theta and scaling together.
    public var ropeParameters: RopeParameters?
    public var maxPositionEmbeddings: Int?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var mlpBias: Bool?
    public var hiddenAct: String?
    public var bosTokenId: Int?
    public var eosTokenId: TokenIDs?
    public var torchDtype: String?
    public var dtype: String?
    // BERT
    public var typeVocabSize: Int?
    public var layerNormEps: Double?
    public var padTokenId: Int?
    public var positionEmbeddingType: String?
    // Mistral, Gemma 3
    public var slidingWindow: Int?
    // Gemma 3
    public var queryPreAttnScalar: Double?
    public var layerTypes: [String]?
    /// Qwen2/Qwen3: whether `sliding_window` applies (to layers from `max_window_layers` on).
    public var useSlidingWindow: Bool?
    public var slidingWindowPattern: Int?
    public var ropeLocalBaseFreq: Double?
    public var hiddenActivation: String?
    public var finalLogitSoftcapping: Double?
    public var attnLogitSoftcapping: Double?
    /// Multimodal Gemma 3: the text decoder's own config.
    public var textConfig: Nested<HuggingFaceConfig>?
    // DeBERTa-v2/v3
    public var relativeAttention: Bool?
    public var maxRelativePositions: Int?
    public var positionBuckets: Int?
    public var normRelEbd: String?
    public var shareAttKey: Bool?
    public var posAttType: AttentionTerms?
    public var positionBiasedInput: Bool?
    public var embeddingSize: Int?
    public var convKernelSize: Int?

    public init() {}

    /// A value inside a value of its own type (`text_config`, per-layer-type RoPE), boxed
    /// so the struct can hold it.
    public struct Nested<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
        private var box: [Value]
        public var value: Value { box[0] }
        public init(_ value: Value) { box = [value] }
        public init(from decoder: any Decoder) throws { box = [try Value(from: decoder)] }
        public func encode(to encoder: any Encoder) throws { try box[0].encode(to: encoder) }
    }

    /// `rope_scaling` / `rope_parameters`.
    public struct RopeParameters: Codable, Sendable, Equatable {
        public var ropeType: String?
        /// The older spelling of `rope_type`.
        public var type: String?
        public var ropeTheta: Double?
        public var factor: Double?
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        /// A number in the files (sometimes written as a float).
        public var originalMaxPositionEmbeddings: Double?
        /// transformers 5, Gemma 3: parameters per layer type.
        public var fullAttention: Nested<RopeParameters>?
        public var slidingAttention: Nested<RopeParameters>?

        public init(ropeType: String? = nil, factor: Double? = nil) {
            self.ropeType = ropeType
            self.factor = factor
        }

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor, lowFreqFactor = "low_freq_factor"
            case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
            case fullAttention = "full_attention", slidingAttention = "sliding_attention"
        }
    }

    /// DeBERTa's `pos_att_type`: `"p2c|c2p"` as the original checkpoints spell it, or a list.
    public struct AttentionTerms: Codable, Sendable, Equatable {
        public var terms: [String]

        public init(_ terms: [String]) { self.terms = terms }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                terms = text.lowercased().split(separator: "|").map { String($0.filter { !$0.isWhitespace }) }
            } else {
                terms = try container.decode([String].self).map { $0.lowercased() }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(terms)
        }
    }

    /// `eos_token_id`: one id or a list of them.
    public enum TokenIDs: Codable, Sendable, Equatable {
        case one(Int)
        case many([Int])

        public var ids: [Int] {
            switch self {
            case .one(let id): [id]
            case .many(let ids): ids
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let id = try? container.decode(Int.self) {
                self = .one(id)
            } else {
                self = .many(try container.decode([Int].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .one(let id): try container.encode(id)
            case .many(let ids): try container.encode(ids)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case architectures, modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case hiddenAct = "hidden_act", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype", dtype, typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id", positionEmbeddingType = "position_embedding_type", slidingWindow = "sliding_window"
        case queryPreAttnScalar = "query_pre_attn_scalar", layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern"
        case useSlidingWindow = "use_sliding_window"
        case ropeLocalBaseFreq = "rope_local_base_freq", hiddenActivation = "hidden_activation"
        case finalLogitSoftcapping = "final_logit_softcapping", attnLogitSoftcapping = "attn_logit_softcapping", textConfig = "text_config"
        case relativeAttention = "relative_attention", maxRelativePositions = "max_relative_positions", positionBuckets = "position_buckets"
        case normRelEbd = "norm_rel_ebd", shareAttKey = "share_att_key", posAttType = "pos_att_type"
        case positionBiasedInput = "position_biased_input", embeddingSize = "embedding_size", convKernelSize = "conv_kernel_size"
    }
}
