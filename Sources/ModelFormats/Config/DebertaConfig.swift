/// A DeBERTa-v2/v3 encoder (microsoft/deberta-v3-large: the paper's BERTScore model).
/// Attention adds to the content-to-content scores a content-to-position and a
/// position-to-content term over learnt relative-position embeddings (`pos_att_type`),
/// relative distances mapped to `2 · positionBuckets` buckets, logarithmic past half of them.
public struct DebertaConfig: Sendable, Equatable {
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
    /// Width of the word embeddings (projected to `hiddenSize` when it differs).
    public var embeddingSize: Int
    /// Absolute position embeddings added to the input (DeBERTa-v3: false).
    public var positionBiasedInput: Bool
    public var relativeAttention: Bool
    /// Largest relative distance told apart (`max_relative_positions`, < 1: `maxPositions`).
    public var maxRelativePositions: Int
    /// `position_buckets` (≤ 0: no bucketing).
    public var positionBuckets: Int
    /// The relative embeddings pass a LayerNorm first (`norm_rel_ebd: layer_norm`).
    public var normalizeRelativeEmbeddings: Bool
    /// Position terms use the content projections (`share_att_key`).
    public var shareAttentionKey: Bool
    public var contentToPosition: Bool
    public var positionToContent: Bool

    public var headDim: Int { hiddenSize / headCount }

    /// Half the number of relative-embedding rows a position term reads.
    public var attentionSpan: Int { positionBuckets > 0 ? positionBuckets : maxRelativePositions }

    /// Rows of the relative-embedding table.
    public var relativeEmbeddingRows: Int { 2 * attentionSpan }

    /// Longest input: none beyond memory for relative positions alone (bert_score truncates
    /// nothing for deberta-v3-large), the position table otherwise.
    public var maxTokens: Int { positionBiasedInput ? maxPositions : Int(Int32.max) }

    public var parameterCount: Int {
        var embeddings = vocabSize * embeddingSize + typeVocabSize * embeddingSize + 2 * hiddenSize
        if positionBiasedInput { embeddings += maxPositions * embeddingSize }
        if embeddingSize != hiddenSize { embeddings += embeddingSize * hiddenSize }
        var attention = 4 * (hiddenSize * hiddenSize + hiddenSize) + 2 * hiddenSize
        if !shareAttentionKey { attention += (contentToPosition ? 1 : 0) * (hiddenSize * hiddenSize + hiddenSize) }
        if !shareAttentionKey { attention += (positionToContent ? 1 : 0) * (hiddenSize * hiddenSize + hiddenSize) }
        let mlp = 2 * hiddenSize * intermediateSize + intermediateSize + hiddenSize + 2 * hiddenSize
        let relative = relativeAttention ? relativeEmbeddingRows * hiddenSize + (normalizeRelativeEmbeddings ? 2 * hiddenSize : 0) : 0
        return embeddings + layerCount * (attention + mlp) + relative
    }
}

// MARK: config.json

extension DebertaConfig {
    /// From a config.json's keys, with transformers' `DebertaV2Config` defaults where one is missing.
    init(huggingFace d: HuggingFaceConfig, source: String) throws(ModelFileError) {
        let hidden = d.hiddenSize ?? 1536
        let maxPositions = d.maxPositionEmbeddings ?? 512
        let terms = d.posAttType?.terms ?? []
        self.init(
            vocabSize: d.vocabSize ?? 128100, hiddenSize: hidden, layerCount: d.numHiddenLayers ?? 24, headCount: d.numAttentionHeads ?? 24,
            intermediateSize: d.intermediateSize ?? 6144, hiddenAct: d.hiddenAct ?? "gelu", maxPositions: maxPositions,
            typeVocabSize: d.typeVocabSize ?? 0, layerNormEps: d.layerNormEps ?? 1e-7, padTokenId: d.padTokenId ?? 0,
            embeddingSize: d.embeddingSize ?? hidden, positionBiasedInput: d.positionBiasedInput ?? true,
            relativeAttention: d.relativeAttention ?? false,
            maxRelativePositions: (d.maxRelativePositions ?? -1) < 1 ? maxPositions : d.maxRelativePositions ?? maxPositions,
            positionBuckets: d.positionBuckets ?? -1,
            normalizeRelativeEmbeddings: (d.normRelEbd ?? "none").lowercased().split(separator: "|").contains {
                $0.filter { !$0.isWhitespace } == "layer_norm"
            },
            shareAttentionKey: d.shareAttKey ?? false, contentToPosition: terms.contains("c2p"), positionToContent: terms.contains("p2c"))
        try validate(source: source, terms: terms, convKernelSize: d.convKernelSize ?? 0)
    }

    private func validate(source: String, terms: [String], convKernelSize: Int) throws(ModelFileError) {
        for (name, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositions), ("type_vocab_size", typeVocabSize), ("pad_token_id", padTokenId),
            ("embedding_size", embeddingSize), ("position_buckets", positionBuckets + 1),
            ("max_relative_positions", maxRelativePositions),
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
        if let unknown = terms.first(where: { !["c2p", "p2c"].contains($0) }) {
            throw ModelFileError(path: source, reason: "pos_att_type \(unknown) is not supported (c2p and p2c are)")
        }
        guard convKernelSize == 0 else {
            throw ModelFileError(
                path: source, reason: "conv_kernel_size \(convKernelSize): DeBERTa-v2's convolution layer is not supported (v3 has none)")
        }
        guard relativeAttention || positionBiasedInput else {
            throw ModelFileError(
                path: source, reason: "neither relative_attention nor position_biased_input: the model would see no positions")
        }
        guard !relativeAttention || attentionSpan > 0 else {
            throw ModelFileError(path: source, reason: "relative attention needs position_buckets or max_relative_positions > 0")
        }
    }

    /// The config.json transformers loads for this model.
    public var huggingFaceConfig: HuggingFaceConfig {
        var d = HuggingFaceConfig()
        (d.architectures, d.modelType) = (["DebertaV2Model"], "deberta-v2")
        (d.vocabSize, d.hiddenSize, d.numHiddenLayers, d.numAttentionHeads) = (vocabSize, hiddenSize, layerCount, headCount)
        (d.intermediateSize, d.hiddenAct, d.maxPositionEmbeddings) = (intermediateSize, hiddenAct, maxPositions)
        (d.typeVocabSize, d.layerNormEps, d.padTokenId, d.embeddingSize) = (typeVocabSize, layerNormEps, padTokenId, embeddingSize)
        (d.positionBiasedInput, d.relativeAttention, d.maxRelativePositions) = (
            positionBiasedInput, relativeAttention, maxRelativePositions
        )
        (d.positionBuckets, d.normRelEbd, d.shareAttKey) = (
            positionBuckets, normalizeRelativeEmbeddings ? "layer_norm" : "none", shareAttentionKey
        )
        d.posAttType = .init((positionToContent ? ["p2c"] : []) + (contentToPosition ? ["c2p"] : []))
        return d
    }
}
