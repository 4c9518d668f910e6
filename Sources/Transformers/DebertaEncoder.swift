import ModelFormats
import Torch

/// A DeBERTa-v2/v3 encoder (microsoft/deberta-v3-large, the paper's BERTScore model), as
/// transformers' `DebertaV2Model` computes it:
///
///     h₀ = LayerNorm(word[ids] (+ position[0..<T]) (+ type[0]) (· proj)) ⊙ mask
///     hₗ₊₁ = LayerNorm(a + FFN(a)),   a = LayerNorm(hₗ + DisentangledAttention(hₗ))
///
/// where attention scores are (q·kᵀ + q·Kᵣ[δ(i,j)]ᵀ + k_j·Qᵣ[δ(j,i)]ᵀ) / √(3d): content to
/// content, content to position and position to content, with Kᵣ, Qᵣ the key and query
/// projections of the (LayerNorm-ed) relative-position embeddings and δ the bucketed
/// distance (`DebertaRelativePositions`). Padding is masked for keys and queries alike.
/// Weights keep their Hugging Face names (an optional `deberta.` prefix is accepted; a
/// checkpoint's MLM or RTD heads are skipped).
public final class DebertaEncoder: TextEncoder, @unchecked Sendable {
    public let config: DebertaConfig
    public let dtype: DType
    public let device: Device
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor?
    let typeEmbeddings: Tensor?
    let embeddingProjection: Tensor?
    let embeddingNorm: (weight: Tensor, bias: Tensor)
    let relativeEmbeddings: Tensor?
    let relativeNorm: (weight: Tensor, bias: Tensor)?
    let layers: [DebertaLayer]

    public init(config: DebertaConfig, weights: [String: Tensor], source: String) throws(ModelLoadError) {
        self.config = config
        var table = WeightTable(tensors: Self.encoderWeights(weights, config: config), source: source)
        let (h, e) = (config.hiddenSize, config.embeddingSize)
        wordEmbeddings = try table.take("embeddings.word_embeddings.weight", shape: [config.vocabSize, e])
        positionEmbeddings = try table.takeIf(
            "embeddings.position_embeddings.weight", shape: [config.maxPositions, e], present: config.positionBiasedInput)
        typeEmbeddings = try table.takeIf(
            "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, e], present: config.typeVocabSize > 0)
        embeddingProjection = try table.takeIf("embeddings.embed_proj.weight", shape: [h, e], present: e != h)
        embeddingNorm = (try table.take("embeddings.LayerNorm.weight", shape: [h]), try table.take("embeddings.LayerNorm.bias", shape: [h]))
        relativeEmbeddings = try table.takeIf(
            "encoder.rel_embeddings.weight", shape: [config.relativeEmbeddingRows, h], present: config.relativeAttention)
        if config.relativeAttention && config.normalizeRelativeEmbeddings {
            relativeNorm = (try table.take("encoder.LayerNorm.weight", shape: [h]), try table.take("encoder.LayerNorm.bias", shape: [h]))
        } else {
            relativeNorm = nil
        }
        dtype = wordEmbeddings.dtype
        device = wordEmbeddings.device
        var layers: [DebertaLayer] = []
        for i in 0..<config.layerCount { layers.append(try DebertaLayer(table: &table, index: i, config: config)) }
        self.layers = layers
        if let unused = table.tensors.keys.sorted().first {
            throw ModelLoadError(source: source, reason: "tensor \(unused) is not part of a DeBERTa-v2 encoder")
        }
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh"].contains(config.hiddenAct) else {
            throw ModelLoadError(source: source, reason: "hidden_act \(config.hiddenAct) is not supported (gelu is)")
        }
    }

    /// The encoder's tensors without the `deberta.` prefix; heads and buffers it does not use
    /// dropped (and absolute positions a v3 checkpoint may carry although it never reads them).
    private static func encoderWeights(_ weights: [String: Tensor], config: DebertaConfig) -> [String: Tensor] {
        var renamed: [String: Tensor] = [:]
        for (name, tensor) in weights {
            let plain = name.hasPrefix("deberta.") ? String(name.dropFirst("deberta.".count)) : name
            if ["lm_predictions.", "mask_predictions.", "cls.", "pooler.", "classifier."].contains(where: plain.hasPrefix) { continue }
            if plain.hasSuffix("position_ids") { continue }
            if !config.positionBiasedInput && plain == "embeddings.position_embeddings.weight" { continue }
            renamed[plain] = tensor
        }
        return renamed
    }

    public static func load(_ files: ModelFiles, dtype: DType = .float32, device: Device = .cpu) throws(ModelLoadError) -> DebertaEncoder {
        guard case .deberta(let config) = files.config else {
            throw ModelLoadError(source: files.path, reason: "a \(files.config.architectureName) model is not a DeBERTa-v2 encoder")
        }
        return try DebertaEncoder(
            config: config, weights: WeightLoader(files: files, dtype: dtype, device: device).loadAll(), source: files.path)
    }

    public var layerCount: Int { config.layerCount }
    public var maxTokens: Int { config.maxTokens }
    public var padTokenId: Int { config.padTokenId }

    /// Hidden states: index 0 is the embedding output, index l the output of layer l, up to
    /// `upTo` (default: every layer). Each [batch, time, hidden]. `ids` [batch, time] int64;
    /// `mask` [batch, time], 1/true on real tokens.
    public func hiddenStates(ids: Tensor, mask: Tensor, upTo: Int? = nil) throws(TorchError) -> [Tensor] {
        let (batch, time) = (ids.shape[0], ids.shape[1])
        guard time <= config.maxTokens else {
            throw TorchError(operation: "DebertaEncoder", message: "\(time) tokens exceed the model's \(config.maxTokens) positions")
        }
        var x = try wordEmbeddings.embedding(ids)
        if let positionEmbeddings { x = try x + positionEmbeddings.narrow(dim: 0, start: 0, length: time).unsqueeze(0) }
        if let typeEmbeddings { x = try x + typeEmbeddings.select(dim: 0, index: 0) }
        if let embeddingProjection { x = try x.linear(embeddingProjection) }
        x = try x.layerNorm([config.hiddenSize], weight: embeddingNorm.weight, bias: embeddingNorm.bias, eps: config.layerNormEps)
        x = try x * mask.to(x.dtype).unsqueeze(-1)
        let real = try mask.to(.bool)
        let attend = try real.view([batch, 1, 1, time]).logicalAnd(real.view([batch, 1, time, 1]))
        var relative: DebertaLayer.Relative?
        if var table = relativeEmbeddings {
            if let relativeNorm {
                table = try table.layerNorm(
                    [config.hiddenSize], weight: relativeNorm.weight, bias: relativeNorm.bias, eps: config.layerNormEps)
            }
            let positions = try DebertaRelativePositions.buckets(
                length: time, bucketSize: config.positionBuckets, maxPosition: config.maxRelativePositions, device: device)
            relative = try .init(embeddings: table, positions: positions, span: config.attentionSpan)
        }
        var states = [x]
        for layer in layers.prefix(min(upTo ?? config.layerCount, config.layerCount)) {
            x = try layer(x, attend: attend, relative: relative, config: config)
            states.append(x)
        }
        return states
    }
}
