/// What a model file or folder holds, read without loading weights: `iap models inspect`
/// prints it as text or, with `--json`, as this value.
public struct ModelSummary: Codable, Sendable {
    public struct Heads: Codable, Sendable {
        public var query: Int
        public var keyValue: Int
        public var headDim: Int
        enum CodingKeys: String, CodingKey { case query, keyValue = "key_value", headDim = "head_dim" }
    }

    public struct TokenizerInfo: Codable, Sendable {
        public var kind: String?
        public var vocabSize: Int?
        /// Special tokens by role (`bos`, `eos`, `pad`).
        public var special: [String: String]?
        /// Why the tokenizer cannot be used, when it cannot.
        public var error: String?
        enum CodingKeys: String, CodingKey { case kind, vocabSize = "vocab_size", special, error }
    }

    public struct ChatTemplateInfo: Codable, Sendable {
        /// The recognised family (`chatml`, `llama3`, …), or nil when the template is not recognised.
        public var family: String?
        public var defaultSystemMessage: String?
        enum CodingKeys: String, CodingKey { case family, defaultSystemMessage = "default_system_message" }
    }

    public struct TensorInfo: Codable, Sendable {
        public var name: String
        public var type: String
        public var shape: [Int]
    }

    public var path: String
    /// `llama`, `qwen2`, `mistral`, `gemma3` (causal LMs), `bert` or `deberta-v2` (encoders).
    public var architecture: String
    /// Whether `architecture` is a text encoder (BERTScore's) rather than a causal LM.
    public var isEncoder: Bool { ["bert", "deberta-v2"].contains(architecture) }
    public var parameters: Int
    public var layers: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var heads: Heads
    public var vocabSize: Int
    public var context: Int
    public var ropeTheta: Double?
    public var ropeScaling: String?
    public var tiedEmbeddings: Bool?
    public var qkvBias: Bool?
    /// `gguf` or `safetensors`.
    public var format: String
    public var formatDetail: String
    public var weightBytes: Int?
    /// Number of tensors of each stored type.
    public var tensorTypes: [String: Int]
    public var tokenizer: TokenizerInfo
    /// Absent when the model ships no chat template.
    public var chatTemplate: ChatTemplateInfo?
    /// Every tensor, when asked for.
    public var tensors: [TensorInfo]?
    /// A causal LM's stop ids with their token text and where each is named.
    public var stopTokens: [StopTokenInfo]?

    public struct StopTokenInfo: Codable, Sendable {
        public var id: Int
        public var token: String?
        public var from: [String]
    }

    enum CodingKeys: String, CodingKey {
        case path, architecture, parameters, layers, hiddenSize = "hidden_size", intermediateSize = "intermediate_size", heads
        case vocabSize = "vocab_size", context, ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case tiedEmbeddings = "tied_embeddings", qkvBias = "qkv_bias", format, formatDetail = "format_detail"
        case weightBytes = "weight_bytes", tensorTypes = "tensor_types", tokenizer, chatTemplate = "chat_template", tensors
        case stopTokens = "stop_tokens"
    }
}

extension ModelFiles {
    /// The summary of this model; `tensors` adds every tensor's name, type and shape.
    public func summary(tensors listTensors: Bool = false) -> ModelSummary {
        let list = tensorSummaries
        let tokenizer = Result { () throws(TokenizerError) in try loadTokenizer() }
        var summary = ModelSummary(
            path: path, architecture: "", parameters: 0, layers: 0, hiddenSize: 0, intermediateSize: 0,
            heads: .init(query: 0, keyValue: 0, headDim: 0), vocabSize: 0, context: 0, format: "", formatDetail: "",
            tensorTypes: Dictionary(list.map { ($0.type, 1) }, uniquingKeysWith: +), tokenizer: Self.tokenizerInfo(tokenizer),
            chatTemplate: chatTemplateInfo(),
            tensors: listTensors ? list.map { ModelSummary.TensorInfo(name: $0.name, type: $0.type, shape: $0.shape) } : nil)
        switch config {
        case .causalLM(let c):
            (summary.architecture, summary.parameters, summary.layers) = (c.family.rawValue, c.parameterCount, c.layerCount)
            (summary.hiddenSize, summary.intermediateSize, summary.vocabSize) = (c.hiddenSize, c.intermediateSize, c.vocabSize)
            summary.heads = .init(query: c.headCount, keyValue: c.kvHeadCount, headDim: c.headDim)
            (summary.context, summary.ropeTheta, summary.ropeScaling) = (c.maxPositions, c.ropeTheta, c.ropeScaling.map(Self.describe))
            (summary.tiedEmbeddings, summary.qkvBias) = (c.tieWordEmbeddings, c.qkvBias)
            summary.stopTokens = stopTokens.entries.map { .init(id: $0.id, token: try? tokenizer.get().token($0.id), from: $0.from) }
        case .bert(let b):
            (summary.architecture, summary.parameters, summary.layers) = ("bert", b.parameterCount, b.layerCount)
            (summary.hiddenSize, summary.intermediateSize, summary.vocabSize) = (b.hiddenSize, b.intermediateSize, b.vocabSize)
            summary.heads = .init(query: b.headCount, keyValue: b.headCount, headDim: b.headDim)
            summary.context = b.maxPositions
        case .deberta(let d):
            (summary.architecture, summary.parameters, summary.layers) = ("deberta-v2", d.parameterCount, d.layerCount)
            (summary.hiddenSize, summary.intermediateSize, summary.vocabSize) = (d.hiddenSize, d.intermediateSize, d.vocabSize)
            summary.heads = .init(query: d.headCount, keyValue: d.headCount, headDim: d.headDim)
            summary.context = d.maxPositions
        }
        switch weights {
        case .gguf(let file):
            (summary.format, summary.formatDetail) = ("gguf", "GGUF v\(file.version), \(list.count) tensors")
        case .safetensors(let checkpoint):
            (summary.format, summary.weightBytes) = (checkpoint.format, checkpoint.byteCount)
            summary.formatDetail =
                "\(checkpoint.format == "pytorch" ? "pytorch_model.bin (read without running its pickle)" : "safetensors"), \(checkpoint.shards.count) file(s), \(list.count) tensors"
        }
        return summary
    }

    private static func tokenizerInfo(_ loaded: Result<Tokenizer, TokenizerError>) -> ModelSummary.TokenizerInfo {
        do {
            let tokenizer = try loaded.get()
            var special: [String: String] = [:]
            for (role, id) in [("bos", tokenizer.bosId), ("eos", tokenizer.eosId), ("pad", tokenizer.padId)] {
                if let id, let token = tokenizer.token(id) { special[role] = token }
            }
            return .init(kind: tokenizer.kind.rawValue, vocabSize: tokenizer.vocabularySize, special: special)
        } catch {
            return .init(error: "\(error)")
        }
    }

    private func chatTemplateInfo() -> ModelSummary.ChatTemplateInfo? {
        guard chatTemplateText != nil else { return nil }  // the plain template applies (said by the command)
        guard let template = try? chatTemplate() else { return .init() }
        if case .chatML(let system?) = template.family { return .init(family: template.familyName, defaultSystemMessage: system) }
        return .init(family: template.familyName)
    }

    private static func describe(_ scaling: CausalLMConfig.RopeScaling) -> String {
        switch scaling {
        case .llama3(let factor, _, _, let original): "Llama 3 scaling ×\(factor) from \(original)"
        case .linear(let factor): "linear scaling ×\(factor)"
        case .frequencyFactorsTensor(let name): "frequency factors from \(name)"
        }
    }
}
