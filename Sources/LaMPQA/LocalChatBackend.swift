import LaMPQACore
import ModelFormats
import Torch
import Transformers

/// Any causal LM of ours as a chat backend, in process: conversations are rendered with the
/// model's chat template and generated in batches (greedy at temperature 0, as the
/// benchmark's judge decodes; sampled with top-p above that).
public final class LocalChatBackend: ChatBackend, @unchecked Sendable {
    public let model: CausalLM
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let name: String
    public let batchSize: Int
    private let lock = AsyncLock()

    public init(model: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, name: String, batchSize: Int = 8) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.name = name
        self.batchSize = max(1, batchSize)
    }

    public var identity: String { "local:\(name)" }

    public func complete(_ conversations: [[ChatMessage]], temperature: Double, topP: Double, maxTokens: Int) async
        -> [Result<String, JudgeCallError>]
    {
        await lock.run { self.run(conversations, temperature: temperature, topP: topP, maxTokens: maxTokens) }
    }

    private func run(_ conversations: [[ChatMessage]], temperature: Double, topP: Double, maxTokens: Int)
        -> [Result<String, JudgeCallError>]
    {
        var results: [Result<String, JudgeCallError>] = []
        var options = GenerationOptions()
        options.maxNewTokens = maxTokens
        options.greedy = temperature <= 0
        options.temperature = max(temperature, 1e-3)
        options.topP = topP
        options.addStops(of: template)
        for start in stride(from: 0, to: conversations.count, by: batchSize) {
            let batch = conversations[start..<min(start + batchSize, conversations.count)]
            do {
                let prompts = try batch.map { conversation throws -> [Int] in
                    tokenizer.encode(try template.render(conversation, addGenerationPrompt: true))
                }
                options.seed = UInt64(start)
                let out = try model.generate(prompts: prompts, tokenizer: tokenizer, options: options)
                results += out.map { .success($0.text) }
            } catch {
                results += batch.map { _ in .failure(JudgeCallError("local model: \(error)")) }
            }
        }
        return results
    }
}
