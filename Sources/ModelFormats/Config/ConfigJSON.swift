import SafeTensors

extension ModelConfig {
    /// Reads a Hugging Face `config.json`, applying transformers' defaults per model type
    /// for missing keys (both the v4 `rope_theta`/`rope_scaling` and v5 `rope_parameters`
    /// spellings are read).
    public static func load(configJSON path: String) throws(ModelFileError) -> ModelConfig {
        let document = try readJSONFile(path).get()
        return try parse(document, source: path)
    }

    public static func parse(_ document: JSONValue, source: String) throws(ModelFileError) -> ModelConfig {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: source, reason: reason) }
        guard case .object = document else { throw fail("expected a JSON object") }
        let architectures = document["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var type = document["model_type"]?.stringValue
        if type == nil, let first = architectures.first {
            for (prefix, name) in [("Llama", "llama"), ("Qwen2", "qwen2"), ("Mistral", "mistral"), ("Bert", "bert")]
            where first.hasPrefix(prefix) {
                type = name
            }
        }
        switch type {
        case "llama", "smollm", "qwen2", "mistral":
            return .causalLM(try causalLM(document, family: type == "qwen2" ? .qwen2 : type == "mistral" ? .mistral : .llama, source: source))
        case "bert":
            return .bert(try bert(document, source: source))
        case let other:
            throw fail("model_type \(other ?? "(missing)") is not supported (llama, smollm, qwen2, mistral, bert are)")
        }
    }

    private static func causalLM(_ d: JSONValue, family: CausalLMConfig.Family, source: String) throws(ModelFileError) -> CausalLMConfig {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: source, reason: reason) }
        func int(_ key: String, _ fallback: Int) throws(ModelFileError) -> Int {
            guard let value = d[key], !value.isNull else { return fallback }
            guard let i = value.intValue else { throw fail("\(key) must be an integer") }
            return i
        }
        func double(_ key: String, _ fallback: Double, in object: JSONValue? = nil) throws(ModelFileError) -> Double {
            guard let value = (object ?? d)[key], !value.isNull else { return fallback }
            guard let x = value.doubleValue else { throw fail("\(key) must be a number") }
            return x
        }
        // transformers' defaults for each model type.
        let defaults: (vocab: Int, hidden: Int, inter: Int, layers: Int, heads: Int, kv: Int?, maxPos: Int, eps: Double) =
            switch family {
            case .llama: (32000, 4096, 11008, 32, 32, nil, 2048, 1e-6)
            case .qwen2: (151936, 4096, 22016, 32, 32, 32, 32768, 1e-6)
            case .mistral: (32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6)
            }
        let hidden = try int("hidden_size", defaults.hidden)
        let heads = try int("num_attention_heads", defaults.heads)
        guard heads > 0 else { throw fail("num_attention_heads must be positive") }
        let rope = d["rope_parameters"].flatMap { $0.isNull ? nil : $0 }
        let theta = try double("rope_theta", try double("rope_theta", 10000, in: rope ?? .object([])))
        var scaling: CausalLMConfig.RopeScaling?
        if let s = d["rope_scaling"].flatMap({ $0.isNull ? nil : $0 }) ?? rope {
            let kind = s["rope_type"]?.stringValue ?? s["type"]?.stringValue ?? "default"
            switch kind {
            case "default": scaling = nil
            case "llama3":
                scaling = .llama3(
                    factor: try double("factor", 8, in: s), lowFrequencyFactor: try double("low_freq_factor", 1, in: s),
                    highFrequencyFactor: try double("high_freq_factor", 4, in: s),
                    originalMaxPositions: Int(try double("original_max_position_embeddings", 8192, in: s)))
            case "linear": scaling = .linear(factor: try double("factor", 1, in: s))
            default: throw fail("rope scaling type \(kind) is not supported (llama3, linear are)")
            }
        }
        let eos: [Int]
        switch d["eos_token_id"] {
        case .some(.int(let i)): eos = [i]
        case .some(.array(let items)): eos = items.compactMap(\.intValue)
        default: eos = family == .qwen2 ? [] : [2]
        }
        let attentionBias = d["attention_bias"]?.boolValue ?? false
        let config = CausalLMConfig(
            family: family, vocabSize: try int("vocab_size", defaults.vocab), hiddenSize: hidden,
            intermediateSize: try int("intermediate_size", defaults.inter), layerCount: try int("num_hidden_layers", defaults.layers),
            headCount: heads, kvHeadCount: try int("num_key_value_heads", defaults.kv ?? heads),
            headDim: try int("head_dim", hidden / heads), rmsNormEps: try double("rms_norm_eps", defaults.eps), ropeTheta: theta,
            ropeScaling: scaling, maxPositions: try int("max_position_embeddings", defaults.maxPos),
            tieWordEmbeddings: d["tie_word_embeddings"]?.boolValue ?? false,
            qkvBias: family == .qwen2 || attentionBias, outputBias: family == .llama && attentionBias,
            mlpBias: d["mlp_bias"]?.boolValue ?? false, hiddenAct: d["hidden_act"]?.stringValue ?? "silu",
            bosTokenId: d["bos_token_id"]?.intValue ?? (family == .qwen2 ? nil : 1), eosTokenIds: eos,
            dtype: d["torch_dtype"]?.stringValue ?? d["dtype"]?.stringValue)
        try config.validate(source)
        return config
    }

    private static func bert(_ d: JSONValue, source: String) throws(ModelFileError) -> BertConfig {
        func int(_ key: String, _ fallback: Int) throws(ModelFileError) -> Int {
            guard let value = d[key], !value.isNull else { return fallback }
            guard let i = value.intValue, i >= 0, i < 1 << 24 else {
                throw ModelFileError(path: source, reason: "\(key) must be a non-negative integer")
            }
            return i
        }
        let config = BertConfig(
            vocabSize: try int("vocab_size", 30522), hiddenSize: try int("hidden_size", 768),
            layerCount: try int("num_hidden_layers", 12), headCount: try int("num_attention_heads", 12),
            intermediateSize: try int("intermediate_size", 3072), hiddenAct: d["hidden_act"]?.stringValue ?? "gelu",
            maxPositions: try int("max_position_embeddings", 512), typeVocabSize: try int("type_vocab_size", 2),
            layerNormEps: d["layer_norm_eps"]?.doubleValue ?? 1e-12, padTokenId: try int("pad_token_id", 0))
        guard config.headCount > 0, config.hiddenSize % config.headCount == 0 else {
            throw ModelFileError(path: source, reason: "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.headCount)")
        }
        if let type = d["position_embedding_type"]?.stringValue, type != "absolute" {
            throw ModelFileError(path: source, reason: "position_embedding_type \(type) is not supported (absolute is)")
        }
        return config
    }

    /// A `config.json` transformers can load (written with checkpoints).
    public var configJSON: JSONValue {
        switch self {
        case .causalLM(let c):
            var members: [(String, JSONValue)] = [
                ("architectures", .array([.string(c.family == .qwen2 ? "Qwen2ForCausalLM" : c.family == .mistral ? "MistralForCausalLM" : "LlamaForCausalLM")])),
                ("model_type", .string(c.family.rawValue)),
                ("vocab_size", .int(c.vocabSize)), ("hidden_size", .int(c.hiddenSize)),
                ("intermediate_size", .int(c.intermediateSize)), ("num_hidden_layers", .int(c.layerCount)),
                ("num_attention_heads", .int(c.headCount)), ("num_key_value_heads", .int(c.kvHeadCount)),
                ("head_dim", .int(c.headDim)), ("rms_norm_eps", .double(c.rmsNormEps)), ("rope_theta", .double(c.ropeTheta)),
                ("max_position_embeddings", .int(c.maxPositions)), ("tie_word_embeddings", .bool(c.tieWordEmbeddings)),
                ("hidden_act", .string(c.hiddenAct)), ("mlp_bias", .bool(c.mlpBias)),
            ]
            if c.family == .llama { members.append(("attention_bias", .bool(c.outputBias))) }
            if let bos = c.bosTokenId { members.append(("bos_token_id", .int(bos))) }
            if !c.eosTokenIds.isEmpty {
                members.append(("eos_token_id", c.eosTokenIds.count == 1 ? .int(c.eosTokenIds[0]) : .array(c.eosTokenIds.map { .int($0) })))
            }
            if let dtype = c.dtype { members.append(("torch_dtype", .string(dtype))) }
            switch c.ropeScaling {
            case .llama3(let factor, let low, let high, let original):
                members.append(("rope_scaling", .object([
                    ("rope_type", .string("llama3")), ("factor", .double(factor)), ("low_freq_factor", .double(low)),
                    ("high_freq_factor", .double(high)), ("original_max_position_embeddings", .int(original)),
                ])))
            case .linear(let factor):
                members.append(("rope_scaling", .object([("rope_type", .string("linear")), ("factor", .double(factor))])))
            case .frequencyFactorsTensor, nil: break
            }
            return .object(members)
        case .bert(let b):
            return .object([
                ("architectures", .array([.string("BertModel")])), ("model_type", .string("bert")),
                ("vocab_size", .int(b.vocabSize)), ("hidden_size", .int(b.hiddenSize)),
                ("num_hidden_layers", .int(b.layerCount)), ("num_attention_heads", .int(b.headCount)),
                ("intermediate_size", .int(b.intermediateSize)), ("hidden_act", .string(b.hiddenAct)),
                ("max_position_embeddings", .int(b.maxPositions)), ("type_vocab_size", .int(b.typeVocabSize)),
                ("layer_norm_eps", .double(b.layerNormEps)), ("pad_token_id", .int(b.padTokenId)),
            ])
        }
    }
}
