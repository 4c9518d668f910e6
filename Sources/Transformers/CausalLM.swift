import ModelFormats
import Torch

/// A Llama-family decoder (Llama 1–3, SmolLM, Qwen2/2.5, Qwen3, Mistral, Gemma 3's text
/// decoder: what a family adds is `config.features`), top to bottom: the model
/// (weights by Hugging Face name, forward, mask), then one block (attention, MLP). The fast
/// paths for inference (packed weights, grouped decode attention) are in
/// CausalLM+FastPaths.swift; the config.json mapping is ModelFormats' LlamaConfig.swift.
///
///
///     h₀ = embed(ids)
///     hₗ₊₁ = hₗ' + MLP(RMSNorm(hₗ')),   hₗ' = hₗ + Attention(RMSNorm(hₗ))
///     logits = RMSNorm(h_L) · W_headᵀ
///
/// Attention is grouped-query with rotary positions, through ATen's fused attention; the MLP
/// is SwiGLU, `down(silu(gate(x)) ⊙ up(x))`. Weights keep their Hugging Face names.
public final class CausalLM: Sendable {
    public let config: CausalLMConfig
    public let dtype: DType
    public let device: Device
    /// Every weight by its Hugging Face name (the head is absent when tied).
    public let weights: [String: Tensor]
    let embedding: Tensor
    let layers: [DecoderLayer]
    let finalNorm: Tensor
    /// [vocab, hidden]; the embedding itself when tied.
    let head: Tensor
    let rotary: RotaryEmbedding
    /// RoPE of sliding-window layers when they use their own theta (Gemma 3).
    let localRotary: RotaryEmbedding?
    /// The LoRA adapters' settings when the linear layers carry adapters (CausalLM+LoRA.swift).
    public let lora: LoRAAdapterConfig?
    /// What every view of these weights shares (`SharedWeightState`): the packed CPU copies,
    /// whether packing works here, and where the weights are when sharded over ranks.
    let shared: SharedWeightState
    /// Whether forward passes without autograd on the CPU use pre-packed weights (about 2×
    /// faster matmuls for decoding; costs a second copy of the weights). On by default
    /// (`withPackedInference(_:)` makes a view without); off by itself where oneDNN packing
    /// is unavailable or the weights are sharded.
    public let usesPackedInference: Bool

    /// Builds the model from named tensors (see `WeightLoader`), checking every shape.
    public convenience init(config: CausalLMConfig, weights: [String: Tensor], source: String) throws(ModelLoadError) {
        var table = WeightTable(tensors: weights, source: source)
        try self.init(config: config, table: &table)
    }

    /// A model of `config`'s shape with random weights made on `device` (no files): the
    /// paper's shapes measured without their 15–48 GB of weights (`iap-bench --shape`).
    public static func random(config: CausalLMConfig, dtype: DType, device: Device, seed: UInt64 = 0) throws(ModelLoadError) -> CausalLM {
        let source = "random \(config.family.rawValue) shape"
        let generator: Generator
        do { generator = try Generator(seed: seed, device: device) } catch { throw ModelLoadError.torch(source, error) }
        var table = WeightTable(
            tensors: [:], source: source,
            random: RandomWeights(dtype: dtype, device: device, generator: generator, offsetNorms: config.features.normOffset))
        return try CausalLM(config: config, table: &table)
    }

    private init(config: CausalLMConfig, table: inout WeightTable) throws(ModelLoadError) {
        self.config = config
        shared = SharedWeightState()
        usesPackedInference = true
        let source = table.source
        let h = config.hiddenSize
        let qDim = config.headCount * config.headDim
        let kvDim = config.kvHeadCount * config.headDim
        embedding = try table.take("model.embed_tokens.weight", shape: [config.vocabSize, h])
        dtype = embedding.dtype
        device = embedding.device
        var layers: [DecoderLayer] = []
        let features = config.features
        for i in 0..<config.layerCount {
            let p = "model.layers.\(i)."
            func linear(_ name: String, out: Int, input: Int, bias: Bool) throws(ModelLoadError) -> Linear {
                Linear(
                    weight: try table.take(p + name + ".weight", shape: [out, input]),
                    bias: try table.takeIf(p + name + ".bias", shape: [out], present: bias))
            }
            layers.append(
                DecoderLayer(
                    inputNorm: try table.take(p + "input_layernorm.weight", shape: [h]),
                    q: try linear("self_attn.q_proj", out: qDim, input: h, bias: config.qkvBias),
                    k: try linear("self_attn.k_proj", out: kvDim, input: h, bias: config.qkvBias),
                    v: try linear("self_attn.v_proj", out: kvDim, input: h, bias: config.qkvBias),
                    o: try linear("self_attn.o_proj", out: h, input: qDim, bias: config.outputBias),
                    postNorm: try table.take(
                        p + (features.sandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), shape: [h]),
                    gate: try linear("mlp.gate_proj", out: config.intermediateSize, input: h, bias: config.mlpBias),
                    up: try linear("mlp.up_proj", out: config.intermediateSize, input: h, bias: config.mlpBias),
                    down: try linear("mlp.down_proj", out: h, input: config.intermediateSize, bias: config.mlpBias),
                    queryKeyNorms: features.queryKeyNorms
                        ? QueryKeyNorms(
                            query: try table.take(p + "self_attn.q_norm.weight", shape: [config.headDim]),
                            key: try table.take(p + "self_attn.k_norm.weight", shape: [config.headDim])) : nil,
                    outputNorms: features.sandwichNorms
                        ? SublayerOutputNorms(
                            attention: try table.take(p + "post_attention_layernorm.weight", shape: [h]),
                            feedforward: try table.take(p + "post_feedforward_layernorm.weight", shape: [h])) : nil))
        }
        self.layers = layers
        finalNorm = try table.take("model.norm.weight", shape: [h])
        if config.tieWordEmbeddings {
            _ = table.tensors.removeValue(forKey: "lm_head.weight")
            head = embedding
        } else {
            head = try table.take("lm_head.weight", shape: [config.vocabSize, h])
        }
        let factors = table.tensors.removeValue(forKey: "rope_freqs.weight")
        do {
            rotary = try RotaryEmbedding(config: config, frequencyFactors: factors, device: device)
            if config.features.slidingRopeTheta, let g = config.gemma {
                localRotary = try RotaryEmbedding(
                    headDim: config.headDim, theta: g.localRopeTheta, scaling: nil, frequencyFactors: nil, device: embedding.device)
            } else {
                localRotary = nil
            }
        } catch {
            throw ModelLoadError.torch(source, error)
        }
        if let unused = table.tensors.keys.sorted().first {
            throw ModelLoadError(source: source, reason: "tensor \(unused) is not part of a \(config.family.rawValue) model")
        }
        self.weights = table.taken
        lora = nil
    }

    /// The same weights (shared tensors, not copies) with other decoder blocks (adapters on
    /// or off) or packing: a view. Views share the packed inference copies and the residency.
    init(sharing other: CausalLM, layers: [DecoderLayer]? = nil, lora: LoRAAdapterConfig?, usesPackedInference: Bool? = nil) {
        shared = other.shared
        (config, dtype, device, weights) = (other.config, other.dtype, other.device, other.weights)
        (embedding, finalNorm, head, rotary, localRotary) = (other.embedding, other.finalNorm, other.head, other.rotary, other.localRotary)
        self.layers = layers ?? other.layers
        self.lora = lora
        self.usesPackedInference = usesPackedInference ?? other.usesPackedInference
    }

    /// A view of the same weights (and adapters) whose inference passes use packed CPU
    /// weights or not: tests compare the two paths, and a sharded model never packs.
    public func withPackedInference(_ on: Bool) -> CausalLM {
        CausalLM(sharing: self, lora: lora, usesPackedInference: on)
    }

    /// Loads a GGUF file or Hugging Face folder in `dtype` on `device`.
    public static func load(_ files: ModelFiles, dtype: DType = .float32, device: Device = .cpu) throws(ModelLoadError) -> CausalLM {
        guard case .causalLM(let config) = files.config else {
            throw ModelLoadError(source: files.path, reason: "a \(files.config.architectureName) model is not a causal LM")
        }
        let weights = try WeightLoader(files: files, dtype: dtype, device: device).loadAll()
        let model = try CausalLM(config: config, weights: weights, source: files.path)
        try model.checkForward(source: files.path)
        return model
    }

    /// One token through the model: weights that a damaged or doctored file filled with
    /// garbage give NaN or infinite logits, an error naming the model here rather than
    /// "generated" token 0 with NaN log-probs later.
    func checkForward(source: String) throws(ModelLoadError) {
        let finite: Bool
        do {
            finite = try withNoGrad { () throws(TorchError) -> Bool in
                let token = min(max(config.bosTokenId ?? 0, 0), config.vocabSize - 1)
                let ids = try Tensor([Int64(token)], shape: [1, 1]).to(device)
                let positions = try Tensor([Int64(0)], shape: [1, 1]).to(device)
                return try logits(hiddenStates(ids: ids, positions: positions, valid: nil)).isFinite().all().item() != 0
            }
        } catch {
            throw ModelLoadError.torch(source, error)
        }
        guard finite else {
            throw ModelLoadError(source: source, reason: "a forward pass gives NaN or infinite logits: the weights are damaged")
        }
    }

    /// Trainable parameters with their Hugging Face names (sorted, tied head not repeated);
    /// with LoRA adapters, only the adapters' tensors, by peft's names.
    public var parameters: [AdamW.Parameter] {
        let trained = lora == nil ? weights : adapterTensors
        return trained.keys.sorted().compactMap { name in trained[name].map { AdamW.Parameter(name: name, tensor: $0) } }
    }

    // MARK: Forward

    /// Hidden states [batch, time, hidden] after the final norm.
    ///
    /// - `ids`: [batch, time] int64.
    /// - `positions`: [batch, time] int64 rotary positions (left padding makes them start
    ///   at 0 on each sequence's first real token).
    /// - `valid`: [batch, time] bool, false on padding; nil when nothing is padding.
    /// - `cache`: when given, keys/values are appended to it and attention covers its
    ///   filled slots too.
    /// - `pass`: the trainer's settings for a pass with autograd (gradient checkpointing,
    ///   block hooks); ignored by inference passes.
    public func hiddenStates(
        ids: Tensor, positions: Tensor, valid: Tensor?, cache: KVCache? = nil, pass: TrainingPass = TrainingPass()
    ) throws(TorchError) -> Tensor {
        let time = ids.shape[1]
        try cache?.makeRoom(time: time)
        var x = try embed(ids)
        let global = try rotary.tables(positions: positions, dtype: dtype)
        let local = try localRotary?.tables(positions: positions, dtype: dtype)
        let masks = LayerMasks(
            full: try attentionMask(time: time, valid: valid, cache: cache),
            sliding: try config.slidingWindow.map { (w) throws(TorchError) -> AttentionMask in
                try attentionMask(time: time, valid: valid, cache: cache, window: w)
            })
        let packedWeights = inferenceWeights()
        let recompute = pass.gradientCheckpointing && cache == nil && isGradEnabled
        // A recomputed block passes gradients on only when its input requires them; with a
        // frozen embedding (LoRA) it would not, and the adapters inside would get none (what
        // transformers' `enable_input_require_grads` is for).
        if recompute && !x.requiresGrad { x = try x.detach().requiresGrad() }
        for (i, layer) in layers.enumerated() {
            let (cos, sin) = config.slides(i) ? local ?? global : global
            let mask = masks.forLayer(i, config: config)
            let config = config
            let packed = recompute ? nil : packedWeights?.layers[i]
            x = try runBlock(i, x, recompute: recompute, hooks: pass.blockHooks) { (input) throws(TorchError) -> Tensor in
                try layer(input, cos: cos, sin: sin, mask: mask, config: config, cache: cache, layerIndex: i, packed: packed)
            }
        }
        if let cache {
            if let valid {
                try cache.advance(valid: valid)
            } else {
                try cache.advance(valid: try Tensor.ones([ids.shape[0], time], dtype: .bool, device: device))
            }
        }
        return try config.norm(x, finalNorm, size: config.hiddenSize)
    }

    /// Token embeddings [batch, time, hidden] of ids [batch, time] (scaled for Gemma).
    func embed(_ ids: Tensor) throws(TorchError) -> Tensor {
        let x = try embedding.embedding(ids)
        guard let scale = config.embeddingScale(dtype) else { return x }
        return try x * scale
    }

    /// Logits [batch, time, vocab] of hidden states.
    public func logits(_ hidden: Tensor) throws(TorchError) -> Tensor {
        if let packedHead = inferenceWeights()?.head { return try hidden.packedLinear(packedHead) }
        return try hidden.linear(head)
    }

    /// The attention mask for a step, as a bool [batch, 1, time, keys] tensor (true = may
    /// attend), or `.causal` when plain causal attention over the step is enough. With a
    /// `window`, only keys less than `window` slots back are visible (slots of a row are
    /// consecutive positions).
    func attentionMask(time: Int, valid: Tensor?, cache: KVCache?, window: Int? = nil) throws(TorchError) -> AttentionMask {
        let past = cache?.length ?? 0
        if valid == nil && past == 0 && time <= (window ?? time) { return time > 1 ? .causal : .none }
        let batch = valid?.shape[0] ?? cache?.batch ?? 1
        let stepValid: Tensor
        if let valid { stepValid = valid } else { stepValid = try Tensor.ones([batch, time], dtype: .bool, device: device) }
        var keyValid = stepValid  // [B, L]
        if let cache { keyValid = try cache.validity(including: stepValid) }
        let keys = past + time
        let keyIndex = try Tensor.arange(.int(keys), dtype: .int64, device: device).view([1, keys])
        // A windowed cache's sliding layers hold only the slots from `windowStart` on.
        let held = window == nil ? 0 : cache?.windowStart ?? 0
        if time == 1 {
            if let window { keyValid = try keyValid.logicalAnd(try keyIndex.gt(.int(past - window))) }
            return .mask(try keyValid.view([batch, 1, 1, keys]).narrow(dim: 3, start: held, length: keys - held))
        }
        // Key slot s is visible from query t when s ≤ past + t (causal in slot order); a
        // query always sees itself, so padded queries do not produce an all-masked row.
        let queryIndex = try Tensor.arange(.int(past), .int(keys), dtype: .int64, device: device).view([time, 1])
        var causal = try keyIndex.le(queryIndex)
        if let window { causal = try causal.logicalAnd(try keyIndex.gt(queryIndex - Double(window))) }
        let itself = try keyIndex.eq(queryIndex)
        let visible = try keyValid.view([batch, 1, 1, keys]).logicalAnd(causal).logicalOr(itself)
        return .mask(try visible.narrow(dim: 3, start: held, length: keys - held))
    }
}

enum AttentionMask {
    case none
    case causal
    case mask(Tensor)
}

struct Linear {
    let weight: Tensor
    let bias: Tensor?
    /// A trained low-rank update on top of the frozen weight, when the model has adapters.
    var adapter: LoRAAdapter? = nil

    func callAsFunction(_ x: Tensor) throws(TorchError) -> Tensor { try callAsFunction(x, packed: nil) }

    /// With the packed copy of `weight` when there is one.
    func callAsFunction(_ x: Tensor, packed: Tensor?) throws(TorchError) -> Tensor {
        let y: Tensor
        if let packed { y = try x.packedLinear(packed, bias: bias) } else { y = try x.linear(weight, bias: bias) }
        guard let adapter else { return y }
        return try y + adapter.update(x)
    }
}

struct DecoderLayer {
    let inputNorm: Tensor
    var q: Linear
    var k: Linear
    var v: Linear
    var o: Linear
    let postNorm: Tensor
    var gate: Linear
    var up: Linear
    var down: Linear
    let queryKeyNorms: QueryKeyNorms?
    let outputNorms: SublayerOutputNorms?

    /// The same block with its linear layers' adapters off.
    var withoutAdapters: DecoderLayer {
        var plain = self
        for linear in AdaptableLinear.allCases { plain[keyPath: linear.field].adapter = nil }
        return plain
    }

    /// Sum of the data versions of this layer's weights (changes on every in-place update).
    var dataVersion: Int {
        [inputNorm, q.weight, k.weight, v.weight, o.weight, postNorm, gate.weight, up.weight, down.weight]
            .reduce(0) { $0 &+ $1.dataVersion } &+ [q.bias, k.bias, v.bias, o.bias].reduce(0) { $0 &+ ($1?.dataVersion ?? 0) }
            &+ [queryKeyNorms?.query, queryKeyNorms?.key, outputNorms?.attention, outputNorms?.feedforward]
            .reduce(0) { $0 &+ ($1?.dataVersion ?? 0) }
    }

    /// x: [batch, time, hidden] → same shape.
    func callAsFunction(
        _ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, config: CausalLMConfig, cache: KVCache?, layerIndex: Int,
        packed: PackedWeights.Layer? = nil
    ) throws(TorchError) -> Tensor {
        var (query, key, value) = try projections(x, cos: cos, sin: sin, config: config, packed: packed)
        if let cache { (key, value) = try cache.store(layer: layerIndex, keys: key, values: value) }
        let attended = try DecoderLayer.attention(query: query, key: key, value: value, mask: mask, config: config)
        return try finish(x, attended: attended, config: config, packed: packed)
    }

    /// Attention of queries [B, heads, T, d] over keys and values [B, kv_heads, L, d] → [B, heads, T, d].
    static func attention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask, config: CausalLMConfig) throws(TorchError)
        -> Tensor
    {
        if query.shape[2] == 1 && query.dtype != .float32 {
            // One query per sequence in reduced precision: ATen's CPU fused kernel runs a
            // matrix-vector product per (sequence, head) and is ~12× slower here than two
            // batched matmuls with the query heads of each key/value head grouped together.
            return try groupedDecodeAttention(query: query, key: key, value: value, mask: mask, config: config)
        }
        let (scale, grouped) = (config.attentionScale, config.kvHeadCount != config.headCount)
        switch mask {
        case .none: return try scaledDotProductAttention(query: query, key: key, value: value, scale: scale, groupedQuery: grouped)
        case .causal:
            return try scaledDotProductAttention(query: query, key: key, value: value, causal: true, scale: scale, groupedQuery: grouped)
        case .mask(let m):
            return try scaledDotProductAttention(query: query, key: key, value: value, mask: m, scale: scale, groupedQuery: grouped)
        }
    }

    /// Rotated queries [B, heads, T, d] and keys, and values [B, kv_heads, T, d] of x [B, T, hidden].
    func projections(
        _ x: Tensor, cos: Tensor, sin: Tensor, config: CausalLMConfig, packed: PackedWeights.Layer? = nil
    ) throws(TorchError) -> (Tensor, Tensor, Tensor) {
        let batch = x.shape[0]
        let time = x.shape[1]
        let d = config.headDim
        let normed = try config.norm(x, inputNorm, size: config.hiddenSize)
        // [B, T, heads·d] → [B, heads, T, d] (each head RMS-normed first with q/k norms)
        var query = try q(normed, packed: packed?.q).view([batch, time, config.headCount, d])
        var key = try k(normed, packed: packed?.k).view([batch, time, config.kvHeadCount, d])
        if let g = queryKeyNorms {
            query = try config.norm(query, g.query, size: d)
            key = try config.norm(key, g.key, size: d)
        }
        query = try query.transpose(1, 2)
        key = try key.transpose(1, 2)
        let value = try v(normed, packed: packed?.v).view([batch, time, config.kvHeadCount, d]).transpose(1, 2)
        return (try RotaryEmbedding.apply(query, cos: cos, sin: sin), try RotaryEmbedding.apply(key, cos: cos, sin: sin), value)
    }

    /// The residual stream after attention output [B, heads, T, d] and the MLP.
    func finish(_ x: Tensor, attended: Tensor, config: CausalLMConfig, packed: PackedWeights.Layer? = nil) throws(TorchError) -> Tensor {
        let merged = try attended.transpose(1, 2).reshape([x.shape[0], x.shape[1], config.headCount * config.headDim])
        var attention = try o(merged, packed: packed?.o)
        if let g = outputNorms { attention = try config.norm(attention, g.attention, size: config.hiddenSize) }
        let h = try x + attention
        let normed2 = try config.norm(h, postNorm, size: config.hiddenSize)
        let inner = try config.activate(gate(normed2, packed: packed?.gate)) * up(normed2, packed: packed?.up)
        var mlp = try down(inner, packed: packed?.down)
        if let g = outputNorms { mlp = try config.norm(mlp, g.feedforward, size: config.hiddenSize) }
        return try h + mlp
    }
}
