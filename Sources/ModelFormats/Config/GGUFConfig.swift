extension ModelConfig {
    /// The configuration a GGUF's `<arch>.*` metadata states (llama and qwen2
    /// architectures), in the same terms as `config.json`.
    public static func from(gguf file: GGUFFile) throws(ModelFileError) -> ModelConfig {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: file.path, reason: reason) }
        let arch = file["general.architecture"]?.stringValue ?? "(missing)"
        let family: CausalLMConfig.Family
        switch arch {
        case "llama": family = .llama
        case "qwen2": family = .qwen2
        case "gemma3": family = .gemma3
        default: throw fail("general.architecture \(arch) is not supported in GGUF files (llama, qwen2, gemma3 are)")
        }
        func int(_ key: String) throws(ModelFileError) -> Int {
            guard let v = file["\(arch).\(key)"]?.intValue else { throw fail("\(arch).\(key) is missing or not an integer") }
            return v
        }
        func optionalInt(_ key: String) -> Int? { file["\(arch).\(key)"]?.intValue }
        // GGUF stores these as float32: take the shortest decimal that rounds to that float
        // (1e-5, not 9.99999974737875e-06), which is what the model's config.json said.
        func double(_ key: String, _ fallback: Double) -> Double {
            guard let value = file["\(arch).\(key)"]?.doubleValue else { return fallback }
            return Double("\(Float(value))") ?? value
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        guard heads > 0 else { throw fail("\(arch).attention.head_count must be positive") }
        let vocab = optionalInt("vocab_size") ?? file["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0
        var scaling: CausalLMConfig.RopeScaling?
        if file.tensor("rope_freqs.weight") != nil {
            scaling = .frequencyFactorsTensor("rope_freqs.weight")
        } else if file["\(arch).rope.scaling.type"]?.stringValue == "linear" {
            scaling = .linear(factor: double("rope.scaling.factor", 1))
        } else if let kind = file["\(arch).rope.scaling.type"]?.stringValue, kind != "none" {
            throw fail("\(arch).rope.scaling.type \(kind) is not supported (linear, llama3 frequency factors are)")
        }
        var config = CausalLMConfig(
            family: family, vocabSize: vocab, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads, kvHeadCount: optionalInt("attention.head_count_kv") ?? heads,
            headDim: optionalInt("attention.key_length") ?? hidden / heads,
            rmsNormEps: double("attention.layer_norm_rms_epsilon", 1e-6), ropeTheta: double("rope.freq_base", 10000),
            ropeScaling: scaling, maxPositions: optionalInt("context_length") ?? 2048,
            tieWordEmbeddings: file.tensor("output.weight") == nil,
            qkvBias: file.tensor("blk.0.attn_q.bias") != nil, outputBias: file.tensor("blk.0.attn_output.bias") != nil,
            mlpBias: file.tensor("blk.0.ffn_up.bias") != nil, hiddenAct: family == .gemma3 ? "gelu_pytorch_tanh" : "silu",
            bosTokenId: file["tokenizer.ggml.bos_token_id"]?.intValue,
            eosTokenIds: file["tokenizer.ggml.eos_token_id"]?.intValue.map { [$0] } ?? [], dtype: nil)
        if let window = optionalInt("attention.sliding_window") {
            config.slidingWindow = window
            config.slidingLayers = [Bool](repeating: true, count: config.layerCount)
        }
        if family == .gemma3 {
            // Not in the file: transformers' defaults (every 6th layer global, local theta 10,000).
            config.slidingWindow = config.slidingWindow ?? 4096
            config.slidingLayers = (0..<config.layerCount).map { ($0 + 1) % 6 != 0 }
            config.gemma = .init(
                queryPreAttentionScalar: gemmaQueryScalar(config, scale: file["\(arch).attention.scale"]?.doubleValue),
                localRopeTheta: 10_000, slidingWindowPattern: 6)
        }
        try config.validate(file.path)
        return .causalLM(config)
    }

    /// Gemma 3's `query_pre_attn_scalar` (attention scores × its −½ power), which llama.cpp's
    /// converter does not write: `<arch>.attention.scale` (the factor itself) where the file
    /// has it, else llama.cpp's own rule — hidden / heads for the 27B (62 layers: 5376 / 32 =
    /// 168, where head_dim is 128), head_dim for every other size.
    static func gemmaQueryScalar(_ config: CausalLMConfig, scale: Double?) -> Double {
        if let scale, scale > 0, scale.isFinite { return 1 / (scale * scale) }
        return config.layerCount == 62 ? Double(config.hiddenSize / config.headCount) : Double(config.headDim)
    }
}
