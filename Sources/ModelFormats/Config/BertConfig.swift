/// A BERT encoder (MiniLM, BERT, sentence-transformers checkpoints) or RoBERTa (bert_score's
/// English default, roberta-large), which differs in its position ids and defaults.
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
    /// RoBERTa: position ids count real tokens from `padTokenId + 1` (padding keeps
    /// `padTokenId`), so `padTokenId + 1` position rows are never reached by text.
    public var roberta = false

    public var headDim: Int { hiddenSize / headCount }

    /// Longest input in tokens.
    public var maxTokens: Int { roberta ? maxPositions - padTokenId - 1 : maxPositions }

    public var parameterCount: Int {
        let embeddings = (vocabSize + maxPositions + typeVocabSize) * hiddenSize + 2 * hiddenSize
        let attention = 4 * (hiddenSize * hiddenSize + hiddenSize) + 2 * hiddenSize
        let mlp = 2 * hiddenSize * intermediateSize + intermediateSize + hiddenSize + 2 * hiddenSize
        return embeddings + layerCount * (attention + mlp)
    }
}

// MARK: config.json

extension BertConfig {
    /// From a config.json's keys, with transformers' defaults where one is missing.
    init(huggingFace d: HuggingFaceConfig, roberta: Bool = false, source: String) throws(ModelFileError) {
        self.init(
            vocabSize: d.vocabSize ?? (roberta ? 50265 : 30522), hiddenSize: d.hiddenSize ?? 768, layerCount: d.numHiddenLayers ?? 12,
            headCount: d.numAttentionHeads ?? 12, intermediateSize: d.intermediateSize ?? 3072, hiddenAct: d.hiddenAct ?? "gelu",
            maxPositions: d.maxPositionEmbeddings ?? (roberta ? 514 : 512), typeVocabSize: d.typeVocabSize ?? (roberta ? 1 : 2),
            layerNormEps: d.layerNormEps ?? (roberta ? 1e-5 : 1e-12), padTokenId: d.padTokenId ?? (roberta ? 1 : 0), roberta: roberta)
        if roberta && maxTokens <= 0 {
            throw ModelFileError(
                path: source, reason: "max_position_embeddings \(maxPositions) leaves no room after pad_token_id \(padTokenId)")
        }
        for (name, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositions), ("type_vocab_size", typeVocabSize),
            ("pad_token_id", padTokenId),
        ]
        where value < 0 || value >= 1 << 24 {
            throw ModelFileError(path: source, reason: "\(name) = \(value) is out of range")
        }
        guard headCount > 0, hiddenSize % headCount == 0 else {
            throw ModelFileError(path: source, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
        guard layerNormEps > 0, layerNormEps < 1 else {
            throw ModelFileError(path: source, reason: "layer_norm_eps = \(layerNormEps) is out of range (0, 1)")
        }
        if let type = d.positionEmbeddingType, type != "absolute" {
            throw ModelFileError(path: source, reason: "position_embedding_type \(type) is not supported (absolute is)")
        }
    }

    /// The config.json transformers loads for this model.
    public var huggingFaceConfig: HuggingFaceConfig {
        var d = HuggingFaceConfig()
        (d.architectures, d.modelType) = roberta ? (["RobertaModel"], "roberta") : (["BertModel"], "bert")
        (d.vocabSize, d.hiddenSize, d.numHiddenLayers, d.numAttentionHeads) = (vocabSize, hiddenSize, layerCount, headCount)
        (d.intermediateSize, d.hiddenAct, d.maxPositionEmbeddings) = (intermediateSize, hiddenAct, maxPositions)
        (d.typeVocabSize, d.layerNormEps, d.padTokenId) = (typeVocabSize, layerNormEps, padTokenId)
        return d
    }
}
