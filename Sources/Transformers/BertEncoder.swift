import ModelFormats
import Torch

/// A BERT encoder (all-MiniLM-L6-v2 and other BERT checkpoints):
///
///     h₀ = LayerNorm(word[ids] + position[0..<T] + tokenType[types])
///     hₗ₊₁ = LayerNorm(a + FFN(a)),   a = LayerNorm(hₗ + SelfAttention(hₗ))
///
/// with GELU in the feed-forward block and padding masked out of attention. RoBERTa is the
/// same network with position ids counted from `pad + 1` over non-padding tokens. Weights
/// keep their Hugging Face names (an optional `bert.` or `roberta.` prefix is accepted).
public final class BertEncoder: @unchecked Sendable {
    public let config: BertConfig
    public let dtype: DType
    public let device: Device
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let typeEmbeddings: Tensor
    let embeddingNorm: (weight: Tensor, bias: Tensor)
    let layers: [BertLayer]

    public init(config: BertConfig, weights: [String: Tensor], source: String) throws(ModelLoadError) {
        self.config = config
        var renamed: [String: Tensor] = [:]
        for (name, tensor) in weights {
            var plain = name
            for prefix in ["bert.", "roberta."] where plain.hasPrefix(prefix) { plain = String(plain.dropFirst(prefix.count)) }
            // Buffers and heads a sentence encoder does not use.
            if ["pooler.", "cls.", "lm_head."].contains(where: plain.hasPrefix) || plain.hasSuffix("position_ids") { continue }
            renamed[plain] = tensor
        }
        var table = WeightTable(tensors: renamed, source: source)
        let h = config.hiddenSize
        wordEmbeddings = try table.take("embeddings.word_embeddings.weight", shape: [config.vocabSize, h])
        positionEmbeddings = try table.take("embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        typeEmbeddings = try table.take("embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, h])
        embeddingNorm = (
            try table.take("embeddings.LayerNorm.weight", shape: [h]), try table.take("embeddings.LayerNorm.bias", shape: [h])
        )
        dtype = wordEmbeddings.dtype
        device = wordEmbeddings.device
        var layers: [BertLayer] = []
        for i in 0..<config.layerCount {
            let p = "encoder.layer.\(i)."
            func linear(_ name: String, out: Int, input: Int) throws(ModelLoadError) -> Linear {
                Linear(
                    weight: try table.take(p + name + ".weight", shape: [out, input]),
                    bias: try table.take(p + name + ".bias", shape: [out]))
            }
            func norm(_ name: String) throws(ModelLoadError) -> (weight: Tensor, bias: Tensor) {
                (try table.take(p + name + ".weight", shape: [h]), try table.take(p + name + ".bias", shape: [h]))
            }
            layers.append(
                BertLayer(
                    query: try linear("attention.self.query", out: h, input: h),
                    key: try linear("attention.self.key", out: h, input: h),
                    value: try linear("attention.self.value", out: h, input: h),
                    attentionOutput: try linear("attention.output.dense", out: h, input: h),
                    attentionNorm: try norm("attention.output.LayerNorm"),
                    intermediate: try linear("intermediate.dense", out: config.intermediateSize, input: h),
                    output: try linear("output.dense", out: h, input: config.intermediateSize),
                    outputNorm: try norm("output.LayerNorm")))
        }
        self.layers = layers
        if let unused = table.tensors.keys.sorted().first {
            throw ModelLoadError(source: source, reason: "tensor \(unused) is not part of a \(config.roberta ? "RoBERTa" : "BERT") encoder")
        }
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh"].contains(config.hiddenAct) else {
            throw ModelLoadError(source: source, reason: "hidden_act \(config.hiddenAct) is not supported (gelu is)")
        }
    }

    public static func load(_ files: ModelFiles, dtype: DType = .float32, device: Device = .cpu) throws(ModelLoadError) -> BertEncoder {
        guard case .bert(let config) = files.config else {
            throw ModelLoadError(source: files.path, reason: "a \(files.config.architectureName) model is not a BERT encoder")
        }
        return try BertEncoder(
            config: config, weights: WeightLoader(files: files, dtype: dtype, device: device).loadAll(), source: files.path)
    }

    /// Hidden states: index 0 is the embedding output, index l the output of layer l, up to
    /// `upTo` (default: every layer). Each [batch, time, hidden].
    ///
    /// - `ids`, `typeIds`: [batch, time] int64 (`typeIds` nil: all zero).
    /// - `mask`: [batch, time], 1/true on real tokens.
    public func hiddenStates(ids: Tensor, typeIds: Tensor? = nil, mask: Tensor, upTo: Int? = nil) throws(TorchError) -> [Tensor] {
        let batch = ids.shape[0]
        let time = ids.shape[1]
        guard time <= config.maxTokens else {
            throw TorchError(operation: "BertEncoder", message: "\(time) tokens exceed the model's \(config.maxTokens) positions")
        }
        let last = min(upTo ?? config.layerCount, config.layerCount)
        let positions = try positionIds(ids)
        let types: Tensor
        if let typeIds { types = typeIds } else { types = try Tensor.zeros([batch, time], dtype: .int64, device: device) }
        var x = try wordEmbeddings.embedding(ids) + positionEmbeddings.embedding(positions) + typeEmbeddings.embedding(types)
        x = try x.layerNorm([config.hiddenSize], weight: embeddingNorm.weight, bias: embeddingNorm.bias, eps: config.layerNormEps)
        let attend = try mask.to(.bool).view([batch, 1, 1, time])
        var states = [x]
        for layer in layers.prefix(last) {
            x = try layer(x, mask: attend, config: config)
            states.append(x)
        }
        return states
    }

    /// Position ids [batch, time] (or [1, time], broadcast) of ids [batch, time]: 0, 1, 2…
    /// for BERT; for RoBERTa, as transformers' `create_position_ids_from_input_ids`, pad + 1,
    /// pad + 2… over tokens other than the pad id, which keep pad.
    func positionIds(_ ids: Tensor) throws(TorchError) -> Tensor {
        guard config.roberta else { return try Tensor.arange(.int(ids.shape[1]), device: device).unsqueeze(0) }
        let real = try ids.ne(.int(config.padTokenId)).to(.int64)
        return try (real.cumsum(dim: 1) * real + Double(config.padTokenId)).to(.int64)
    }
}

struct BertLayer {
    let query: Linear
    let key: Linear
    let value: Linear
    let attentionOutput: Linear
    let attentionNorm: (weight: Tensor, bias: Tensor)
    let intermediate: Linear
    let output: Linear
    let outputNorm: (weight: Tensor, bias: Tensor)

    /// x [batch, time, hidden]; mask [batch, 1, 1, time] bool.
    func callAsFunction(_ x: Tensor, mask: Tensor, config: BertConfig) throws(TorchError) -> Tensor {
        let batch = x.shape[0]
        let time = x.shape[1]
        let heads = config.headCount
        let d = config.headDim
        func split(_ t: Tensor) throws(TorchError) -> Tensor { try t.view([batch, time, heads, d]).transpose(1, 2) }
        let attended = try scaledDotProductAttention(query: split(query(x)), key: split(key(x)), value: split(value(x)), mask: mask)
        let merged = try attended.transpose(1, 2).reshape([batch, time, config.hiddenSize])
        let a = try (x + attentionOutput(merged)).layerNorm(
            [config.hiddenSize], weight: attentionNorm.weight, bias: attentionNorm.bias, eps: config.layerNormEps)
        let inner = try intermediate(a).gelu(approximate: config.hiddenAct != "gelu")
        return try (a + output(inner)).layerNorm(
            [config.hiddenSize], weight: outputNorm.weight, bias: outputNorm.bias, eps: config.layerNormEps)
    }
}
