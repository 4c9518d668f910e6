import ModelFormats
import Torch

/// One DeBERTa-v2 encoder layer: disentangled self-attention, then the feed-forward block,
/// each with a residual and a LayerNorm (post-norm, as BERT).
struct DebertaLayer {
    /// The relative-position inputs every layer shares: the (normalised) embedding table
    /// [2·span, hidden] and, per query i and key j [T, T] int64, the table row of the
    /// content-to-position term, clamp(δ(i, j) + span), and of the position-to-content term,
    /// clamp(span − δ(i, j)) (δ: `DebertaRelativePositions`).
    struct Relative {
        let embeddings: Tensor
        let contentToPosition: Tensor
        let positionToContent: Tensor

        init(embeddings: Tensor, positions: Tensor, span: Int) throws(TorchError) {
            self.embeddings = try embeddings.narrow(dim: 0, start: 0, length: 2 * span)
            let last = Double(2 * span - 1)
            contentToPosition = try (positions + Double(span)).clamp(min: 0, max: last).to(.int64)
            positionToContent = try (Double(span) - positions).clamp(min: 0, max: last).to(.int64)
        }
    }

    let query: Linear
    let key: Linear
    let value: Linear
    /// Separate projections of the relative embeddings (nil: `share_att_key`, the content ones).
    let positionKey: Linear?
    let positionQuery: Linear?
    let attentionOutput: Linear
    let attentionNorm: (weight: Tensor, bias: Tensor)
    let intermediate: Linear
    let output: Linear
    let outputNorm: (weight: Tensor, bias: Tensor)

    init(table: inout WeightTable, index: Int, config: DebertaConfig) throws(ModelLoadError) {
        let p = "encoder.layer.\(index)."
        let h = config.hiddenSize
        func linear(_ name: String, out: Int, input: Int) throws(ModelLoadError) -> Linear {
            Linear(
                weight: try table.take(p + name + ".weight", shape: [out, input]), bias: try table.take(p + name + ".bias", shape: [out]))
        }
        func norm(_ name: String) throws(ModelLoadError) -> (weight: Tensor, bias: Tensor) {
            (try table.take(p + name + ".weight", shape: [h]), try table.take(p + name + ".bias", shape: [h]))
        }
        query = try linear("attention.self.query_proj", out: h, input: h)
        key = try linear("attention.self.key_proj", out: h, input: h)
        value = try linear("attention.self.value_proj", out: h, input: h)
        let separate = config.relativeAttention && !config.shareAttentionKey
        positionKey = separate && config.contentToPosition ? try linear("attention.self.pos_key_proj", out: h, input: h) : nil
        positionQuery = separate && config.positionToContent ? try linear("attention.self.pos_query_proj", out: h, input: h) : nil
        attentionOutput = try linear("attention.output.dense", out: h, input: h)
        attentionNorm = try norm("attention.output.LayerNorm")
        intermediate = try linear("intermediate.dense", out: config.intermediateSize, input: h)
        output = try linear("output.dense", out: h, input: config.intermediateSize)
        outputNorm = try norm("output.LayerNorm")
    }

    /// x [batch, time, hidden]; attend [batch, 1, time, time] bool (query i may see key j).
    func callAsFunction(_ x: Tensor, attend: Tensor, relative: Relative?, config: DebertaConfig) throws(TorchError) -> Tensor {
        let (batch, time, heads) = (x.shape[0], x.shape[1], config.headCount)
        func split(_ t: Tensor, rows: Int) throws(TorchError) -> Tensor { try t.view([rows, -1, heads, config.headDim]).transpose(1, 2) }
        let q = try split(query(x), rows: batch)  // [B, H, T, d]
        let k = try split(key(x), rows: batch)
        let v = try split(value(x), rows: batch)
        let terms = 1 + (config.contentToPosition ? 1 : 0) + (config.positionToContent ? 1 : 0)
        // √(d · terms) rounded to float32 first, as transformers takes it from a float tensor.
        let scale = Double(Float(Double(config.headDim * terms).squareRoot()))
        var scores = try q.matmul((k / scale).transpose(-1, -2))  // [B, H, T, T]
        if let relative { scores = try scores + positionScores(q: q, k: k, relative: relative, scale: scale, config: config) }
        scores = try scores.maskedFill(attend.logicalNot(), scores.dtype.lowestFinite ?? -1e30)
        let attended = try scores.softmax(dim: -1).matmul(v).transpose(1, 2).reshape([batch, time, config.hiddenSize])
        let a = try (x + attentionOutput(attended)).layerNorm(
            [config.hiddenSize], weight: attentionNorm.weight, bias: attentionNorm.bias, eps: config.layerNormEps)
        let inner = try intermediate(a).gelu(approximate: config.hiddenAct != "gelu")
        return try (a + output(inner)).layerNorm(
            [config.hiddenSize], weight: outputNorm.weight, bias: outputNorm.bias, eps: config.layerNormEps)
    }

    /// The content-to-position and position-to-content terms [B, H, T, T], each / scale:
    /// c2p[i, j] = q_i · Kᵣ[c2p row (i, j)];  p2c[i, j] = k_j · Qᵣ[p2c row (j, i)].
    private func positionScores(q: Tensor, k: Tensor, relative: Relative, scale: Double, config: DebertaConfig) throws(TorchError) -> Tensor
    {
        let (batch, heads, time) = (q.shape[0], q.shape[1], q.shape[2])
        let rows = relative.embeddings.shape[0]
        func project(_ linear: Linear) throws(TorchError) -> Tensor {  // [1, H, 2·span, d]
            try linear(relative.embeddings).view([1, rows, heads, config.headDim]).transpose(1, 2)
        }
        let shape = [batch, heads, time, time]
        var total = try Tensor.zeros(shape, dtype: q.dtype, device: q.device)
        if config.contentToPosition {
            let keys = try project(positionKey ?? key)
            let c2p = try q.matmul(keys.transpose(-1, -2)).gather(dim: -1, index: relative.contentToPosition.expand(shape))
            total = try total + c2p / scale
        }
        if config.positionToContent {
            let queries = try project(positionQuery ?? query)
            let p2c = try k.matmul(queries.transpose(-1, -2)).gather(dim: -1, index: relative.positionToContent.expand(shape))
            total = try total + p2c.transpose(-1, -2) / scale
        }
        return total
    }
}

/// DeBERTa's relative positions (transformers' `build_relative_position` with
/// `make_log_bucket_position`): δ = i − j, kept as is within ±bucketSize/2 and mapped
/// logarithmically beyond, up to `maxPosition`:
///
///     mid = bucketSize / 2
///     δ' = sign(δ) · (⌈ln(|δ| / mid) / ln((maxPosition − 1) / mid) · (mid − 1)⌉ + mid)   if |δ| > mid
///
/// computed with the same float32 tensor operations, so the rounding at ⌈·⌉ is the same.
enum DebertaRelativePositions {
    /// [time, time] int64, entry (i, j) for query i and key j.
    static func buckets(length time: Int, bucketSize: Int, maxPosition: Int, device: Device) throws(TorchError) -> Tensor {
        let ids = try Tensor.arange(.int(time), device: device)
        let relative = try ids.unsqueeze(1) - ids.unsqueeze(0)
        guard bucketSize > 0, maxPosition > 0 else { return relative }
        let mid = bucketSize / 2
        let near = try relative.lt(.int(mid)).logicalAnd(relative.gt(.int(-mid)))
        let farDistance = try Tensor.where(near, Tensor.full([], .int(mid - 1), dtype: .int64, device: device), relative.abs())
        let ratio = try Tensor.full([], .float(Double(maxPosition - 1) / Double(mid)), dtype: .float32, device: device).log()
        let logarithmic = try ((farDistance.to(.float32) / Double(mid)).log() / ratio * Double(mid - 1)).ceil() + Double(mid)
        let bucketed = try Tensor.where(farDistance.le(.int(mid)), relative.to(.float32), logarithmic * relative.sign().to(.float32))
        return try bucketed.to(.int64)
    }
}
