import LaMPQACore
import ModelFormats
import Transformers

extension PolicyInputBuilder {
    /// Ranks past posts by the cosine similarity of their sentence embeddings to the
    /// question's (any text encoder; MiniLM by default in the CLI).
    public static func encoderRanker(_ encoder: any TextEncoder, tokenizer: Tokenizer) -> @Sendable (String, [String]) throws -> [Int] {
        { question, posts in
            guard !posts.isEmpty else { return [] }
            let vectors = try encoder.embed([question] + posts, tokenizer: tokenizer)  // [1 + n, H], unit length
            let scores = try vectors.narrow(dim: 0, start: 1, length: posts.count).matmul(
                vectors.narrow(dim: 0, start: 0, length: 1).transpose(0, 1))
            let values = try scores.squeeze(1).toArray(Float.self)
            return values.indices.sorted { values[$0] > values[$1] }
        }
    }
}
