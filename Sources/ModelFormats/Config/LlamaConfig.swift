/// Architecture of a Llama-family decoder (Llama 1–3, SmolLM, Qwen2/2.5, Qwen3, Mistral) or
/// of Gemma 3's text decoder: the fields our model code needs, with the defaults
/// transformers applies for missing keys. What a family's block adds to Llama's is named in
/// `features` (DecoderFeatures.swift).
public struct CausalLMConfig: Sendable, Equatable {
    public enum Family: String, Sendable {
        case llama, qwen2, qwen3, mistral
        case gemma3 = "gemma3_text"
    }

    /// What this family's decoder block adds to Llama's.
    public var features: DecoderFeatures { DecoderFeatures(family) }

    /// Gemma 3's numbers beyond Llama's keys (its block's differences are `features`):
    /// attention scaled by `queryPreAttentionScalar^-½`, the RoPE theta of sliding layers.
    public struct Gemma: Sendable, Equatable {
        public var queryPreAttentionScalar: Double
        public var localRopeTheta: Double
        /// Layers i with (i + 1) % pattern ≠ 0 slide, when the config gives a pattern rather
        /// than a list (written back that way).
        public var slidingWindowPattern: Int?

        public init(queryPreAttentionScalar: Double, localRopeTheta: Double, slidingWindowPattern: Int?) {
            self.queryPreAttentionScalar = queryPreAttentionScalar
            self.localRopeTheta = localRopeTheta
            self.slidingWindowPattern = slidingWindowPattern
        }
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
    /// Biases on the q, k, v projections (Qwen2 always; Llama's and Qwen3's `attention_bias`).
    public var qkvBias: Bool
    /// Bias on the output projection (Llama's and Qwen3's `attention_bias`).
    public var outputBias: Bool
    public var mlpBias: Bool
    public var hiddenAct: String
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// The dtype the weights were saved in (`torch_dtype` / `dtype`), when stated.
    public var dtype: String?
    /// Keys a sliding-window layer attends to: those less than this many positions back
    /// (Mistral's `sliding_window` on every layer; Gemma 3's local layers).
    public var slidingWindow: Int? = nil
    /// Per layer: whether it attends within `slidingWindow` (empty: none does).
    public var slidingLayers: [Bool] = []
    public var gemma: Gemma? = nil
    /// Where the text decoder's modules sit in the folder's model, as peft names adapter
    /// tensors after them: `model` for a causal LM; `model.language_model` for a
    /// vision-language wrapper (Gemma3ForConditionalGeneration: gemma-3-4b/12b/27b-it).
    public var moduleRoot = "model"

    /// Whether layer `i` is a sliding-window layer.
    public func slides(_ i: Int) -> Bool { slidingWindow != nil && i < slidingLayers.count && slidingLayers[i] }

    /// The attention scale (nil: 1/√head_dim).
    public var attentionScale: Double? { gemma.map { 1 / $0.queryPreAttentionScalar.squareRoot() } }

    /// Attention heads per key/value head.
    public var groupSize: Int { headCount / kvHeadCount }

    /// Number of parameters the shapes imply (embeddings counted once when tied).
    public var parameterCount: Int {
        let q = hiddenSize * headCount * headDim + (qkvBias ? headCount * headDim : 0)
        let kv = 2 * (hiddenSize * kvHeadCount * headDim + (qkvBias ? kvHeadCount * headDim : 0))
        let o = headCount * headDim * hiddenSize + (outputBias ? hiddenSize : 0)
        let mlp = 3 * hiddenSize * intermediateSize + (mlpBias ? 2 * intermediateSize + hiddenSize : 0)
        let norms = (features.sandwichNorms ? 4 : 2) * hiddenSize + (features.queryKeyNorms ? 2 * headDim : 0)
        let block = q + kv + o + mlp + norms
        let embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2)
        return layerCount * block + embeddings + hiddenSize
    }

    func validate(_ source: String) throws(ModelFileError) {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: source, reason: reason) }
        for (name, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
            ("num_key_value_heads", kvHeadCount), ("head_dim", headDim), ("max_position_embeddings", maxPositions),
        ]
        where value <= 0 || value > 1 << 24 {
            throw fail("\(name) = \(value) is out of range")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("num_attention_heads (\(headCount)) is not a multiple of num_key_value_heads (\(kvHeadCount))")
        }
        guard headDim % 2 == 0 else { throw fail("head_dim (\(headDim)) must be even for rotary embeddings") }
        guard rmsNormEps > 0, rmsNormEps < 1 else { throw fail("rms_norm_eps = \(rmsNormEps) is out of range") }
        var floats = [("rope_theta", ropeTheta)]
        if let gemma {
            floats += [("query_pre_attn_scalar", gemma.queryPreAttentionScalar), ("rope_local_base_freq", gemma.localRopeTheta)]
        }
        switch ropeScaling {
        case .llama3(let factor, let low, let high, _):
            floats += [("rope_scaling.factor", factor), ("low_freq_factor", low), ("high_freq_factor", high)]
        case .linear(let factor): floats += [("rope_scaling.factor", factor)]
        case .frequencyFactorsTensor, nil: break
        }
        // Used in float32 (rotary tables, the attention scale): a finite Double past its range
        // would become infinity there and every logit NaN.
        for (name, value) in floats where !(value > 0 && Float(value).isFinite) {
            throw fail("\(name) = \(value) must be a positive number within float32's range")
        }
        let activations = gemma == nil ? ["silu", "swish"] : ["gelu_pytorch_tanh", "gelu_tanh", "gelu"]
        guard activations.contains(hiddenAct) else { throw fail("hidden_act \(hiddenAct) is not supported (\(activations[0]) is)") }
        if let slidingWindow, slidingWindow <= 0 { throw fail("sliding_window = \(slidingWindow) must be positive") }
        guard slidingLayers.isEmpty || slidingLayers.count == layerCount else {
            throw fail("layer_types has \(slidingLayers.count) entries for \(layerCount) layers")
        }
    }
}

// MARK: config.json

extension CausalLMConfig {
    /// From a config.json's keys, with transformers' defaults for `family` where one is missing.
    init(huggingFace d: HuggingFaceConfig, family: Family, source: String) throws(ModelFileError) {
        // transformers' defaults for each model type.
        let defaults: (vocab: Int, hidden: Int, inter: Int, layers: Int, heads: Int, kv: Int?, maxPos: Int, eps: Double) =
            switch family {
            case .llama: (32000, 4096, 11008, 32, 32, nil, 2048, 1e-6)
            case .qwen2, .qwen3: (151936, 4096, 22016, 32, 32, 32, 32768, 1e-6)
            case .mistral: (32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6)
            case .gemma3: (262_208, 2304, 9216, 26, 8, 4, 131_072, 1e-6)
            }
        let hidden = d.hiddenSize ?? defaults.hidden
        let heads = d.numAttentionHeads ?? defaults.heads
        guard heads > 0 else { throw ModelFileError(path: source, reason: "num_attention_heads must be positive") }
        let attentionBias = d.attentionBias ?? false
        self.init(
            family: family, vocabSize: d.vocabSize ?? defaults.vocab, hiddenSize: hidden,
            intermediateSize: d.intermediateSize ?? defaults.inter, layerCount: d.numHiddenLayers ?? defaults.layers,
            headCount: heads, kvHeadCount: d.numKeyValueHeads ?? defaults.kv ?? heads,
            headDim: d.headDim ?? (family == .qwen3 ? 128 : hidden / heads),
            rmsNormEps: d.rmsNormEps ?? defaults.eps, ropeTheta: d.ropeTheta ?? d.ropeParameters?.ropeTheta ?? 10000,
            ropeScaling: try Self.ropeScaling(d.ropeScaling ?? d.ropeParameters, source: source),
            maxPositions: d.maxPositionEmbeddings ?? defaults.maxPos, tieWordEmbeddings: d.tieWordEmbeddings ?? false,
            qkvBias: family == .qwen2 || attentionBias, outputBias: (family == .llama || family == .qwen3) && attentionBias,
            mlpBias: d.mlpBias ?? false, hiddenAct: d.hiddenAct ?? "silu",
            bosTokenId: d.bosTokenId ?? (family == .qwen2 || family == .qwen3 ? nil : 1),
            eosTokenIds: d.eosTokenId?.ids ?? (family == .qwen2 || family == .qwen3 ? [] : [2]), dtype: d.torchDtype ?? d.dtype)
        if family == .qwen3, d.useSlidingWindow == true || d.layerTypes?.contains("sliding_attention") == true {
            throw ModelFileError(path: source, reason: "use_sliding_window is set: Qwen3's sliding-window layers are not supported")
        }
        if family == .mistral, let window = d.slidingWindow {
            slidingWindow = window
            slidingLayers = [Bool](repeating: true, count: layerCount)
        }
        if family == .gemma3 { try applyGemma(d, source: source) }
        try validate(source)
    }

    /// Gemma 3's keys on top of the Llama ones, with transformers' defaults.
    private mutating func applyGemma(_ d: HuggingFaceConfig, source: String) throws(ModelFileError) {
        for (name, value) in [("final_logit_softcapping", d.finalLogitSoftcapping), ("attn_logit_softcapping", d.attnLogitSoftcapping)]
        where value != nil {
            throw ModelFileError(path: source, reason: "\(name) is set: soft-capping (Gemma 2) is not supported")
        }
        headDim = d.headDim ?? 256
        hiddenAct = d.hiddenActivation ?? d.hiddenAct ?? "gelu_pytorch_tanh"
        tieWordEmbeddings = d.tieWordEmbeddings ?? true
        qkvBias = d.attentionBias ?? false
        outputBias = qkvBias
        bosTokenId = d.bosTokenId ?? 2
        eosTokenIds = d.eosTokenId?.ids ?? [1]
        let full = d.ropeParameters?.fullAttention?.value
        let local = d.ropeParameters?.slidingAttention?.value
        ropeTheta = full?.ropeTheta ?? d.ropeTheta ?? 1_000_000
        if let full { ropeScaling = try Self.ropeScaling(full, source: source) }
        let pattern = d.layerTypes == nil ? (d.slidingWindowPattern ?? 6) : nil
        if let types = d.layerTypes {
            slidingLayers = types.map { $0 == "sliding_attention" }
        } else if let pattern {
            slidingLayers = (0..<layerCount).map { ($0 + 1) % max(pattern, 1) != 0 }
        }
        slidingWindow = d.slidingWindow ?? 4096
        gemma = Gemma(
            queryPreAttentionScalar: d.queryPreAttnScalar ?? 256, localRopeTheta: local?.ropeTheta ?? d.ropeLocalBaseFreq ?? 10_000,
            slidingWindowPattern: pattern)
    }

    private static func ropeScaling(_ s: HuggingFaceConfig.RopeParameters?, source: String) throws(ModelFileError) -> RopeScaling? {
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

    /// The config.json transformers loads for this model.
    public var huggingFaceConfig: HuggingFaceConfig {
        var d = HuggingFaceConfig()
        d.architectures = [
            [
                "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "mistral": "MistralForCausalLM",
                "gemma3_text": "Gemma3ForCausalLM",
            ][
                family.rawValue] ?? "LlamaForCausalLM"
        ]
        d.modelType = family.rawValue
        (d.vocabSize, d.hiddenSize, d.intermediateSize) = (vocabSize, hiddenSize, intermediateSize)
        (d.numHiddenLayers, d.numAttentionHeads, d.numKeyValueHeads, d.headDim) = (layerCount, headCount, kvHeadCount, headDim)
        (d.rmsNormEps, d.ropeTheta, d.maxPositionEmbeddings) = (rmsNormEps, ropeTheta, maxPositions)
        (d.tieWordEmbeddings, d.hiddenAct, d.mlpBias) = (tieWordEmbeddings, hiddenAct, mlpBias)
        if family == .llama || family == .qwen3 { d.attentionBias = outputBias }
        d.bosTokenId = bosTokenId
        if !eosTokenIds.isEmpty { d.eosTokenId = eosTokenIds.count == 1 ? .one(eosTokenIds[0]) : .many(eosTokenIds) }
        d.torchDtype = dtype
        switch ropeScaling {
        case .llama3(let factor, let low, let high, let original):
            var rope = HuggingFaceConfig.RopeParameters(ropeType: "llama3", factor: factor)
            (rope.lowFreqFactor, rope.highFreqFactor, rope.originalMaxPositionEmbeddings) = (low, high, Double(original))
            d.ropeScaling = rope
        case .linear(let factor): d.ropeScaling = .init(ropeType: "linear", factor: factor)
        case .frequencyFactorsTensor, nil: break
        }
        if let slidingWindow, family == .mistral { d.slidingWindow = slidingWindow }
        if let gemma { writeGemma(gemma, to: &d) }
        return d
    }

    /// Gemma 3's keys as transformers reads them (v4 spellings, which v5 still accepts).
    private func writeGemma(_ gemma: Gemma, to d: inout HuggingFaceConfig) {
        d.hiddenActivation = hiddenAct
        d.hiddenAct = nil
        d.mlpBias = nil
        d.attentionBias = qkvBias
        d.queryPreAttnScalar = gemma.queryPreAttentionScalar
        d.ropeLocalBaseFreq = gemma.localRopeTheta
        d.slidingWindow = slidingWindow
        d.layerTypes = slidingLayers.map { $0 ? "sliding_attention" : "full_attention" }
    }
}
