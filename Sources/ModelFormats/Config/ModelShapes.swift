/// Architectures of well-known models by short name, as their `config.json` gives them (the
/// numbers only: no weights, no tokenizer). `iap-bench` builds random-weight models of these
/// shapes in process and `iap plan` reads them, so the paper's own shapes can be measured and
/// planned without 15–48 GB of files. Parsed by the same reader as a folder's config.json.
public enum ModelShapes {
    /// Short name → config.json text.
    public static let configs: [String: String] = [
        "qwen2.5-0.5b": qwen2(hidden: 896, intermediate: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151_936, tied: true),
        "qwen2.5-1.5b": qwen2(hidden: 1536, intermediate: 8960, layers: 28, heads: 12, kvHeads: 2, vocab: 151_936, tied: true),
        "qwen2.5-7b": qwen2(hidden: 3584, intermediate: 18944, layers: 28, heads: 28, kvHeads: 4, vocab: 152_064, tied: false),
        "llama-3.2-1b": llama3(hidden: 2048, intermediate: 8192, layers: 16, heads: 32, kvHeads: 8, tied: true, factor: 32),
        "llama-3.1-8b": llama3(hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, tied: false, factor: 8),
        "mistral-small-24b": """
        {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 5120, "intermediate_size": 32768,
         "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 131072,
         "max_position_embeddings": 32768, "rope_theta": 100000000.0, "rms_norm_eps": 1e-05, "tie_word_embeddings": false,
         "sliding_window": null, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
        """,
        "gemma3-12b": """
        {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 3840, "intermediate_size": 15360,
         "num_hidden_layers": 48, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 262208,
         "max_position_embeddings": 131072, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
         "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "query_pre_attn_scalar": 256, "sliding_window": 1024,
         "sliding_window_pattern": 6, "rms_norm_eps": 1e-06, "hidden_activation": "gelu_pytorch_tanh", "bos_token_id": 2,
         "eos_token_id": [1, 106], "tie_word_embeddings": true, "torch_dtype": "bfloat16"}
        """,
    ]

    public static var names: [String] { configs.keys.sorted() }

    /// The shape of `name` (a key of `configs`), nil for other names.
    public static func config(named name: String) throws(ModelFileError) -> CausalLMConfig? {
        guard let text = configs[name.lowercased()] else { return nil }
        guard case .causalLM(let config) = try ModelConfig.parse(json: text, source: "shape \(name)") else { return nil }
        return config
    }

    private static func qwen2(hidden: Int, intermediate: Int, layers: Int, heads: Int, kvHeads: Int, vocab: Int, tied: Bool) -> String {
        """
        {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": \(hidden), "intermediate_size": \(intermediate),
         "num_hidden_layers": \(layers), "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads), "vocab_size": \(vocab),
         "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06, "tie_word_embeddings": \(tied),
         "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16"}
        """
    }

    private static func llama3(hidden: Int, intermediate: Int, layers: Int, heads: Int, kvHeads: Int, tied: Bool, factor: Int) -> String {
        """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(hidden), "intermediate_size": \(intermediate),
         "num_hidden_layers": \(layers), "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads), "head_dim": \(hidden / heads),
         "vocab_size": 128256, "max_position_embeddings": 131072, "rope_theta": 500000.0, "rms_norm_eps": 1e-05,
         "rope_scaling": {"factor": \(factor).0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192,
                          "rope_type": "llama3"},
         "tie_word_embeddings": \(tied), "hidden_act": "silu", "bos_token_id": 128000, "eos_token_id": 128001, "torch_dtype": "bfloat16"}
        """
    }
}
