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
            for (prefix, name) in [
                ("Llama", "llama"), ("Qwen2", "qwen2"), ("Mistral", "mistral"), ("Bert", "bert"), ("Roberta", "roberta"),
                ("DebertaV2", "deberta-v2"),
                ("Gemma3ForCausalLM", "gemma3_text"),
            ]
            where first.hasPrefix(prefix) {
                type = name
            }
        }
        switch type {
        case "gemma3":
            // Multimodal checkpoint: the text decoder's config is nested (its weights sit under a
            // language-model prefix, which WeightLoader strips).
            guard let text = document.textConfig?.value else {
                throw ModelFileError(path: source, reason: "model_type gemma3 without text_config")
            }
            var inner = text
            inner.modelType = "gemma3_text"
            guard case .causalLM(var decoder) = try parse(inner, source: source) else {
                throw ModelFileError(path: source, reason: "text_config does not describe a causal LM")
            }
            decoder.moduleRoot = "model.language_model"
            return .causalLM(decoder)
        case "llama", "smollm", "qwen2", "qwen3", "mistral", "gemma3_text":
            let family: CausalLMConfig.Family =
                ["qwen2": .qwen2, "qwen3": .qwen3, "mistral": .mistral, "gemma3_text": .gemma3][type ?? ""] ?? .llama
            return .causalLM(try CausalLMConfig(huggingFace: document, family: family, source: source))
        case "bert", "roberta":
            return .bert(try BertConfig(huggingFace: document, roberta: type == "roberta", source: source))
        case "deberta-v2":
            return .deberta(try DebertaConfig(huggingFace: document, source: source))
        case let other:
            throw ModelFileError(
                path: source,
                reason:
                    "model_type \(other ?? "(missing)") is not supported (llama, smollm, qwen2, qwen3, mistral, gemma3_text, gemma3, bert, roberta, deberta-v2 are)"
            )
        }
    }

    /// The `config.json` transformers loads for this model (written with checkpoints).
    public var huggingFaceConfig: HuggingFaceConfig {
        switch self {
        case .causalLM(let c): c.huggingFaceConfig
        case .bert(let b): b.huggingFaceConfig
        case .deberta(let d): d.huggingFaceConfig
        }
    }
}

/// What a model folder or GGUF file describes.
public enum ModelConfig: Sendable, Equatable {
    case causalLM(CausalLMConfig)
    case bert(BertConfig)
    case deberta(DebertaConfig)

    public var architectureName: String {
        switch self {
        case .causalLM(let c): c.family.rawValue
        case .bert: "bert"
        case .deberta: "deberta-v2"
        }
    }
}
