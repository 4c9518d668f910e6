import JSONFiles

extension ModelConfig {
    /// Reads a Hugging Face `config.json`, applying transformers' defaults per model type
    /// for missing keys (both the v4 `rope_theta`/`rope_scaling` and v5 `rope_parameters`
    /// spellings are read).
    public static func load(configJSON path: String) throws(ModelFileError) -> ModelConfig {
        try parse(try readJSON(HuggingFaceConfig.self, path), source: path)
    }

    /// `config.json` text; `source` names it in errors.
    public static func parse(json text: String, source: String) throws(ModelFileError) -> ModelConfig {
        let document: HuggingFaceConfig
        do { document = try JSONFile.decode(from: text, source: source) } catch {
            throw ModelFileError(path: error.path, reason: error.reason)
        }
        return try parse(document, source: source)
    }

    public static func parse(_ document: HuggingFaceConfig, source: String) throws(ModelFileError) -> ModelConfig {
        var type = document.modelType
        if type == nil, let first = document.architectures?.first {
            for (prefix, name) in [("Llama", "llama"), ("Qwen2", "qwen2"), ("Mistral", "mistral"), ("Bert", "bert")]
            where first.hasPrefix(prefix) {
                type = name
            }
        }
        switch type {
        case "llama", "smollm", "qwen2", "mistral":
            let family: CausalLMConfig.Family = type == "qwen2" ? .qwen2 : type == "mistral" ? .mistral : .llama
            return .causalLM(try causalLM(document, family: family, source: source))
        case "bert":
            return .bert(try bert(document, source: source))
        case let other:
            throw ModelFileError(path: source, reason: "model_type \(other ?? "(missing)") is not supported (llama, smollm, qwen2, mistral, bert are)")
        }
    }

    private static func causalLM(_ d: HuggingFaceConfig, family: CausalLMConfig.Family, source: String) throws(ModelFileError) -> CausalLMConfig {
        // transformers' defaults for each model type.
        let defaults: (vocab: Int, hidden: Int, inter: Int, layers: Int, heads: Int, kv: Int?, maxPos: Int, eps: Double) =
            switch family {
            case .llama: (32000, 4096, 11008, 32, 32, nil, 2048, 1e-6)
            case .qwen2: (151936, 4096, 22016, 32, 32, 32, 32768, 1e-6)
            case .mistral: (32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6)
            }
        let hidden = d.hiddenSize ?? defaults.hidden
        let heads = d.numAttentionHeads ?? defaults.heads
        guard heads > 0 else { throw ModelFileError(path: source, reason: "num_attention_heads must be positive") }
        let attentionBias = d.attentionBias ?? false
        let config = CausalLMConfig(
            family: family, vocabSize: d.vocabSize ?? defaults.vocab, hiddenSize: hidden,
            intermediateSize: d.intermediateSize ?? defaults.inter, layerCount: d.numHiddenLayers ?? defaults.layers,
            headCount: heads, kvHeadCount: d.numKeyValueHeads ?? defaults.kv ?? heads, headDim: d.headDim ?? hidden / heads,
            rmsNormEps: d.rmsNormEps ?? defaults.eps, ropeTheta: d.ropeTheta ?? d.ropeParameters?.ropeTheta ?? 10000,
            ropeScaling: try ropeScaling(d.ropeScaling ?? d.ropeParameters, source: source),
            maxPositions: d.maxPositionEmbeddings ?? defaults.maxPos, tieWordEmbeddings: d.tieWordEmbeddings ?? false,
            qkvBias: family == .qwen2 || attentionBias, outputBias: family == .llama && attentionBias,
            mlpBias: d.mlpBias ?? false, hiddenAct: d.hiddenAct ?? "silu",
            bosTokenId: d.bosTokenId ?? (family == .qwen2 ? nil : 1),
            eosTokenIds: d.eosTokenId?.ids ?? (family == .qwen2 ? [] : [2]), dtype: d.torchDtype ?? d.dtype)
        try config.validate(source)
        return config
    }

    private static func ropeScaling(_ s: HuggingFaceConfig.RopeParameters?, source: String) throws(ModelFileError) -> CausalLMConfig.RopeScaling? {
        guard let s else { return nil }
        switch s.ropeType ?? s.type ?? "default" {
        case "default": return nil
        case "llama3":
            let original = s.originalMaxPositionEmbeddings ?? 8192
            guard original >= 1, original < Double(1 << 24) else {
                throw ModelFileError(path: source, reason: "original_max_position_embeddings = \(original) is out of range")
            }
            return .llama3(
                factor: s.factor ?? 8, lowFrequencyFactor: s.lowFreqFactor ?? 1, highFrequencyFactor: s.highFreqFactor ?? 4,
                originalMaxPositions: Int(original))
        case "linear": return .linear(factor: s.factor ?? 1)
        case let kind: throw ModelFileError(path: source, reason: "rope scaling type \(kind) is not supported (llama3, linear are)")
        }
    }

    private static func bert(_ d: HuggingFaceConfig, source: String) throws(ModelFileError) -> BertConfig {
        let config = BertConfig(
            vocabSize: d.vocabSize ?? 30522, hiddenSize: d.hiddenSize ?? 768, layerCount: d.numHiddenLayers ?? 12,
            headCount: d.numAttentionHeads ?? 12, intermediateSize: d.intermediateSize ?? 3072, hiddenAct: d.hiddenAct ?? "gelu",
            maxPositions: d.maxPositionEmbeddings ?? 512, typeVocabSize: d.typeVocabSize ?? 2,
            layerNormEps: d.layerNormEps ?? 1e-12, padTokenId: d.padTokenId ?? 0)
        for (name, value) in [("vocab_size", config.vocabSize), ("hidden_size", config.hiddenSize), ("num_hidden_layers", config.layerCount),
                              ("num_attention_heads", config.headCount), ("intermediate_size", config.intermediateSize),
                              ("max_position_embeddings", config.maxPositions), ("type_vocab_size", config.typeVocabSize),
                              ("pad_token_id", config.padTokenId)]
        where value < 0 || value >= 1 << 24 {
            throw ModelFileError(path: source, reason: "\(name) = \(value) is out of range")
        }
        guard config.headCount > 0, config.hiddenSize % config.headCount == 0 else {
            throw ModelFileError(path: source, reason: "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.headCount)")
        }
        if let type = d.positionEmbeddingType, type != "absolute" {
            throw ModelFileError(path: source, reason: "position_embedding_type \(type) is not supported (absolute is)")
        }
        return config
    }

    /// The `config.json` transformers loads for this model (written with checkpoints).
    public var huggingFaceConfig: HuggingFaceConfig {
        var d = HuggingFaceConfig()
        switch self {
        case .causalLM(let c):
            d.architectures = [c.family == .qwen2 ? "Qwen2ForCausalLM" : c.family == .mistral ? "MistralForCausalLM" : "LlamaForCausalLM"]
            d.modelType = c.family.rawValue
            (d.vocabSize, d.hiddenSize, d.intermediateSize) = (c.vocabSize, c.hiddenSize, c.intermediateSize)
            (d.numHiddenLayers, d.numAttentionHeads, d.numKeyValueHeads, d.headDim) = (c.layerCount, c.headCount, c.kvHeadCount, c.headDim)
            (d.rmsNormEps, d.ropeTheta, d.maxPositionEmbeddings) = (c.rmsNormEps, c.ropeTheta, c.maxPositions)
            (d.tieWordEmbeddings, d.hiddenAct, d.mlpBias) = (c.tieWordEmbeddings, c.hiddenAct, c.mlpBias)
            if c.family == .llama { d.attentionBias = c.outputBias }
            d.bosTokenId = c.bosTokenId
            if !c.eosTokenIds.isEmpty { d.eosTokenId = c.eosTokenIds.count == 1 ? .one(c.eosTokenIds[0]) : .many(c.eosTokenIds) }
            d.torchDtype = c.dtype
            switch c.ropeScaling {
            case .llama3(let factor, let low, let high, let original):
                var rope = HuggingFaceConfig.RopeParameters(ropeType: "llama3", factor: factor)
                (rope.lowFreqFactor, rope.highFreqFactor, rope.originalMaxPositionEmbeddings) = (low, high, Double(original))
                d.ropeScaling = rope
            case .linear(let factor): d.ropeScaling = .init(ropeType: "linear", factor: factor)
            case .frequencyFactorsTensor, nil: break
            }
        case .bert(let b):
            (d.architectures, d.modelType) = (["BertModel"], "bert")
            (d.vocabSize, d.hiddenSize, d.numHiddenLayers, d.numAttentionHeads) = (b.vocabSize, b.hiddenSize, b.layerCount, b.headCount)
            (d.intermediateSize, d.hiddenAct, d.maxPositionEmbeddings) = (b.intermediateSize, b.hiddenAct, b.maxPositions)
            (d.typeVocabSize, d.layerNormEps, d.padTokenId) = (b.typeVocabSize, b.layerNormEps, b.padTokenId)
        }
        return d
    }
}
