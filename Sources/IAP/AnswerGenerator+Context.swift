import LaMPQACore
import Transformers

/// A question whose prompt and reply cannot fit the model's context. Past it a RoPE model
/// reads positions it was never trained on (and a 12k-token prompt on the CPU ran for minutes
/// without a word), so `iap answer` refuses before generating anything.
public struct PromptPastContext: Error, CustomStringConvertible, Sendable {
    public var record: String
    public var promptTokens: Int
    public var maxNewTokens: Int
    public var context: Int

    public var description: String {
        "record \(record): its prompt is \(promptTokens) tokens, and with up to \(maxNewTokens) new tokens that passes the model's "
            + "context of \(context) (max_position_embeddings); show the model less (iap answer: --input question, narrative or a "
            + "smaller profile:K) or allow fewer new tokens (--max-tokens)"
    }
}

extension AnswerGenerator {
    /// Throws `PromptPastContext` for the first record (in order) that does not fit.
    func checkContext(_ records: [LaMPQARecord], prompts: [[Int]]) throws(PromptPastContext) {
        let context = model.config.maxPositions
        let reply = options.longestCompletion(tokenizer: tokenizer)
        for (record, ids) in zip(records, prompts) where ids.count + reply > context {
            throw PromptPastContext(record: record.id, promptTokens: ids.count, maxNewTokens: reply, context: context)
        }
    }
}
