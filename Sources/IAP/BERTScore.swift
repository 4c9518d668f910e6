import IAPCore
import Foundation
import ModelFormats
import Torch
import Transformers

/// BERTScore (Zhang et al.), as the `bert_score` package computes it: token embeddings from
/// one encoder layer, L2-normalised; each candidate token's best cosine over the reference
/// tokens gives precision, each reference token's best over the candidate gives recall;
/// tokens weighted 1 (or by idf over the references) except the special tokens ([CLS]/[SEP],
/// <s>/</s>) at 0; F = 2PR/(P+R), 0 when undefined; optionally rescaled with a published
/// baseline. Byte-level tokenizers (RoBERTa) get a space in front of the text, as bert_score
/// asks (`add_prefix_space=True`).
public final class BERTScorer: @unchecked Sendable {
    public let encoder: any TextEncoder
    public let tokenizer: Tokenizer
    /// Hidden states after this many layers (the last one by default; all-MiniLM-L6-v2 has
    /// no default in bert_score, so 6 = its last layer; deberta-v3-large's is 12).
    public let layer: Int
    public let batchSize: Int
    /// nil (the default): each pair scored as bert_score scores it alone, so a rollout's
    /// similarity does not depend on which others share its call (or on the number of ranks).
    /// A number: as bert_score scores a list, pairs matched that many at a time (its
    /// `batch_size`, 64), where padding floors a token's best cosine at 0 (`paddedInMatching`).
    public let matchingBatchSize: Int?
    /// Baseline rescaling, x' = (x − b)/(1 − b) per P, R, F (nil: raw scores).
    public let baseline: BERTScoreBaseline?

    public init(
        encoder: any TextEncoder, tokenizer: Tokenizer, layer: Int? = nil, batchSize: Int = 32, matchingBatchSize: Int? = nil,
        baseline: BERTScoreBaseline? = nil
    ) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.layer = min(layer ?? encoder.layerCount, encoder.layerCount)
        self.batchSize = max(1, batchSize)
        self.matchingBatchSize = matchingBatchSize.map { max(1, $0) }
        self.baseline = baseline
    }

    public struct Score: Sendable, Equatable {
        public let precision: Double
        public let recall: Double
        public let f1: Double
    }

    /// Scores candidate i against reference i. With `idf`, token weights are
    /// ln((M + 1)/(df + 1)) over the M references (unseen tokens ln(M + 1)).
    public func score(candidates: [String], references: [String], idf: Bool = false) throws(TorchError) -> [Score] {
        guard candidates.count == references.count else {
            throw TorchError(operation: "BERTScore", message: "\(candidates.count) candidates for \(references.count) references")
        }
        let candidateIds = candidates.map(tokenIds)
        let referenceIds = references.map(tokenIds)
        let special = Set(tokenizer.encode("", addSpecialTokens: true))
        var weight: (Int) -> Double = { special.contains($0) ? 0 : 1 }
        if idf {
            var documentFrequency: [Int: Int] = [:]
            for sentence in referenceIds { for id in Set(sentence) { documentFrequency[id, default: 0] += 1 } }
            let m = Double(referenceIds.count)
            weight = { id in
                if special.contains(id) { return 0 }
                return Foundation.log((m + 1) / Double((documentFrequency[id] ?? 0) + 1))
            }
        }
        let candidateVectors = try embed(candidateIds)
        let referenceVectors = try embed(referenceIds)
        var out: [Score] = []
        for i in 0..<candidates.count {
            let c = candidateVectors[i]  // [Lc, H]
            let r = referenceVectors[i]  // [Lr, H]
            let similarity = try c.matmul(r.transpose(0, 1))  // [Lc, Lr]
            let padded = paddedInMatching(i, candidateIds, referenceIds)
            let precisionPerToken = try similarity.amax(dims: [1]).toArray(Float.self).map { padded.reference ? max($0, 0) : $0 }
            let recallPerToken = try similarity.amax(dims: [0]).toArray(Float.self).map { padded.candidate ? max($0, 0) : $0 }
            func weighted(_ values: [Float], _ tokens: [Int]) -> Double {
                let w = tokens.map(weight)
                let total = w.reduce(0, +)
                guard total > 0 else { return .nan }
                return zip(values, w).reduce(0) { $0 + Double($1.0) * $1.1 } / total
            }
            let p = weighted(precisionPerToken, candidateIds[i])
            let rr = weighted(recallPerToken, referenceIds[i])
            var f = 2 * p * rr / (p + rr)
            if f.isNaN { f = 0 }
            let raw = Score(precision: p.isNaN ? 0 : p, recall: rr.isNaN ? 0 : rr, f1: f)
            out.append(baseline.map { $0.rescale(raw) } ?? raw)
        }
        return out
    }

    /// Whether pair i's candidate / reference is padded when bert_score matches it: it takes
    /// pairs `matchingBatchSize` at a time, pads each side to its longest sentence and
    /// multiplies the similarities by the padding mask before the maxima, so a shorter
    /// sentence's padding offers a similarity of 0 — a token whose cosines are all negative
    /// then counts 0, not its best cosine (rare with trained encoders, common with random ones).
    private func paddedInMatching(_ i: Int, _ candidates: [[Int]], _ references: [[Int]]) -> (candidate: Bool, reference: Bool) {
        guard let matchingBatchSize else { return (false, false) }
        let start = i - i % matchingBatchSize
        let group = start..<min(start + matchingBatchSize, candidates.count)
        let longestCandidate = group.map { candidates[$0].count }.max() ?? 0
        let longestReference = group.map { references[$0].count }.max() ?? 0
        return (candidates[i].count < longestCandidate, references[i].count < longestReference)
    }

    /// A sentence's ids as bert_score makes them: stripped, a leading space for byte-level
    /// BPE, special tokens added, truncated to the encoder's length keeping the last token.
    func tokenIds(_ text: String) -> [Int] {
        let stripped = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefixed = tokenizer.kind == .byteLevelBPE && !stripped.isEmpty ? " " + stripped : stripped
        var encoded = tokenizer.encode(prefixed, addSpecialTokens: true)
        let maxLength = encoder.maxTokens
        if encoded.count > maxLength, let last = encoded.last { encoded = Array(encoded.prefix(maxLength - 1)) + [last] }
        return encoded
    }

    /// Normalised token vectors [L, H] of each sentence at `layer`.
    private func embed(_ sentences: [[Int]]) throws(TorchError) -> [Tensor] {
        var out: [Tensor] = []
        for start in stride(from: 0, to: sentences.count, by: batchSize) {
            let batch = Array(sentences[start..<min(start + batchSize, sentences.count)])
            let width = batch.map(\.count).max() ?? 0
            var ids: [Int64] = []
            var mask: [Int64] = []
            for s in batch {
                ids += s.map(Int64.init) + [Int64](repeating: Int64(encoder.padTokenId), count: width - s.count)
                mask += [Int64](repeating: 1, count: s.count) + [Int64](repeating: 0, count: width - s.count)
            }
            let states = try withNoGrad { () throws(TorchError) -> Tensor in
                let idTensor = try Tensor(ids, shape: [batch.count, width]).to(encoder.device)
                let maskTensor = try Tensor(mask, shape: [batch.count, width]).to(encoder.device)
                return try encoder.hiddenStates(ids: idTensor, mask: maskTensor, upTo: layer)[layer].to(.float32)
            }
            for (k, s) in batch.enumerated() {
                let vectors = try states.select(dim: 0, index: k).narrow(dim: 0, start: 0, length: s.count)
                out.append(try vectors / vectors.norm(2, dims: [1], keepDim: true).clamp(min: 1e-12))
            }
        }
        return out
    }
}

extension BERTScoreBaseline {
    /// `s` rescaled: x → (x − b)/(1 − b) for precision, recall and F1.
    func rescale(_ s: BERTScorer.Score) -> BERTScorer.Score {
        BERTScorer.Score(
            precision: (s.precision - precision) / (1 - precision), recall: (s.recall - recall) / (1 - recall), f1: (s.f1 - f1) / (1 - f1))
    }
}
