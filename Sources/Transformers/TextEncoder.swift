import ModelFormats
import Torch

/// An encoder whose per-token hidden states BERTScore reads: BERT and RoBERTa
/// (`BertEncoder`), DeBERTa-v2/v3 (`DebertaEncoder`).
public protocol TextEncoder: AnyObject, Sendable {
    var layerCount: Int { get }
    /// Longest input in tokens (texts are truncated to it).
    var maxTokens: Int { get }
    var padTokenId: Int { get }
    var device: Device { get }
    /// Index 0 the embedding output, l the output of layer l (up to `upTo`); each
    /// [batch, time, hidden]. `ids` [batch, time] int64, `mask` [batch, time] 1 on real tokens.
    func hiddenStates(ids: Tensor, mask: Tensor, upTo: Int?) throws(TorchError) -> [Tensor]
}

extension BertEncoder: TextEncoder {
    public var layerCount: Int { config.layerCount }
    public var maxTokens: Int { config.maxTokens }
    public var padTokenId: Int { config.padTokenId }

    public func hiddenStates(ids: Tensor, mask: Tensor, upTo: Int?) throws(TorchError) -> [Tensor] {
        try hiddenStates(ids: ids, typeIds: nil, mask: mask, upTo: upTo)
    }
}

extension TextEncoder {
    /// Sentence embeddings [texts, hidden]: mean of the last layer over real tokens, L2-
    /// normalised (sentence-transformers' recipe for MiniLM). Texts longer than `maxLength`
    /// tokens are truncated.
    public func embed(_ texts: [String], tokenizer: Tokenizer, maxLength: Int = 256) throws(TorchError) -> Tensor {
        let batch = try Self.batch(texts, tokenizer: tokenizer, maxLength: min(maxLength, maxTokens), device: device)
        let hidden = try withNoGrad { () throws(TorchError) -> Tensor in
            try hiddenStates(ids: batch.ids, mask: batch.mask, upTo: nil)[layerCount]
        }
        let weights = try batch.mask.to(hidden.dtype).unsqueeze(-1)
        let pooled = try (hidden * weights).sum(dims: [1]) / (try weights.sum(dims: [1]).clamp(min: 1e-9))
        return try pooled / (try pooled.norm(2, dims: [1], keepDim: true).clamp(min: 1e-12))
    }

    /// Token ids and mask for texts, `[CLS] … [SEP]`, right-padded: ([n, T] int64, [n, T] int64).
    public static func batch(_ texts: [String], tokenizer: Tokenizer, maxLength: Int, device: Device) throws(TorchError)
        -> (ids: Tensor, mask: Tensor)
    {
        let encodings: [Encoding]
        do {
            encodings = try tokenizer.encodeBatch(
                texts, truncation: Truncation(maxLength: maxLength), padding: Padding(length: .longest, padId: tokenizer.padId ?? 0))
        } catch {
            throw TorchError(operation: "tokenize", message: error.description)
        }
        let width = encodings.first?.ids.count ?? 0
        let ids = try Tensor(encodings.flatMap { $0.ids.map(Int64.init) }, shape: [texts.count, width]).to(device)
        let mask = try Tensor(encodings.flatMap { $0.attentionMask.map(Int64.init) }, shape: [texts.count, width]).to(device)
        return (ids, mask)
    }
}

/// The encoder a model folder holds, by its config.
public enum TextEncoders {
    public static func load(_ files: ModelFiles, dtype: DType = .float32, device: Device = .cpu) throws(ModelLoadError) -> any TextEncoder {
        switch files.config {
        case .bert: try BertEncoder.load(files, dtype: dtype, device: device)
        case .deberta: try DebertaEncoder.load(files, dtype: dtype, device: device)
        case .causalLM(let c):
            throw ModelLoadError(
                source: files.path, reason: "a \(c.family.rawValue) decoder is not a text encoder (BERT, RoBERTa or DeBERTa-v2 is)")
        }
    }
}
