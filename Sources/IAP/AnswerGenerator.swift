import IAPCore
import LaMPQA
import LaMPQACore
import ModelFormats
import Torch
import Transformers

/// One reply of a model to one question: the full reply and the response taken from it.
public struct GeneratedAnswer: Sendable {
    public var id: String
    public var reply: String
    /// What is scored: the `<answer>` block (or the reply without tags when there is none) for
    /// IAP, the final answer for the baselines.
    public var response: String
    /// IAP only: the parsed intents, whether the reply had the four-block format, and why not.
    public var intents: [String]
    public var valid: Bool
    public var problem: String?
    /// A block that copies the prompt or repeats a line (then `valid` is false).
    public var degeneration: Degeneration?
    /// Tokens of the reply (with `prefill`'s text before them for IAP) and the prompt's ids.
    public var promptIds: [Int]
    public var replyIds: [Int]
    public var finishReason: GeneratedSequence.FinishReason
}

/// Answers questions in batches with one prompt family; shared by `iap answer`, the intent
/// ablation and the SFT labeller. Synchronous on purpose: Swift 6.3's optimiser crashes on
/// async functions holding generation closures.
public struct AnswerGenerator {
    public var model: CausalLM
    public var tokenizer: Tokenizer
    public var template: ChatTemplate
    public var input: PolicyInputBuilder
    public var method: AnsweringMethod
    public var prompt: RolloutPrompt
    public var options: GenerationOptions
    /// Questions generated together.
    public var batch = 16
    /// A sampling seed per record id: each record's answers then depend on its seed alone,
    /// not on the batch it shares (data-parallel SFT labels a share per rank). Nil: one
    /// seed per batch, from `options.seed`.
    public var recordSeeds: [String: UInt64]?

    public init(
        model: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, input: PolicyInputBuilder, method: AnsweringMethod,
        prompt: RolloutPrompt? = nil, options: GenerationOptions
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.input = input
        self.method = method
        self.prompt = prompt ?? method.defaultPrompt
        self.options = options
    }

    /// The prompt ids of one question; `intents` fills `{intents}` (explicit intent, ablations).
    public func promptIds(_ record: LaMPQARecord, intents: [String]? = nil) throws -> [Int] {
        let text = try input.render(record)
        let messages = intents.map { prompt.messages(input: text, intents: $0) } ?? prompt.messages(input: text)
        var chat = try template.render(messages, addGenerationPrompt: true)
        if case .iap(let prefill) = method, !prefill.isEmpty { chat.parts.append(.template(prefill)) }
        return tokenizer.encode(chat)
    }

    /// `options.samplesPerPrompt` answers per record, in record order; `intents[id]` is given
    /// to the prompt when present. `progress(done, total)` after each batch. `finished` holds
    /// batches answered before (by their first index: they are not generated again), and
    /// `batchDone(start, answers)` is told of each new one (to keep it).
    public func answer(
        _ records: [LaMPQARecord], intents: [String: [String]]? = nil, finished: [Int: [GeneratedAnswer]] = [:],
        batchDone: (Int, [GeneratedAnswer]) throws -> Void = { _, _ in }, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> [GeneratedAnswer] {
        var out: [GeneratedAnswer] = []
        let size = max(1, batch)
        let echo = PromptEcho(prompt)
        // Every prompt is made and checked against the context before the first is answered.
        let allPrompts = try records.map { record in try promptIds(record, intents: intents.map { all in all[record.id] ?? [] }) }
        try checkContext(records, prompts: allPrompts)
        for start in stride(from: 0, to: records.count, by: size) {
            let chunk = Array(records[start..<min(start + size, records.count)])
            if let done = finished[start],
                done.map(\.id) == chunk.flatMap({ r in Array(repeating: r.id, count: max(1, options.samplesPerPrompt)) })
            {
                out += done
                progress(min(start + size, records.count), records.count)
                continue
            }
            let prompts = Array(allPrompts[start..<start + chunk.count])
            var o = options
            o.seed = options.seed &+ UInt64(start)
            o.addStops(of: template)
            let seeds = recordSeeds.map { bySeed in chunk.map { bySeed[$0.id] ?? o.seed } }
            let sequences = try withNoGrad { try model.generate(prompts: prompts, tokenizer: tokenizer, options: o, promptSeeds: seeds) }
                .sorted { ($0.prompt, $0.sample) < ($1.prompt, $1.sample) }
            var batch: [GeneratedAnswer] = []
            for s in sequences {
                let record = chunk[s.prompt]
                var answer = GeneratedAnswer(
                    id: record.id, reply: s.text, response: "", intents: [], valid: true, problem: nil, promptIds: prompts[s.prompt],
                    replyIds: s.tokens, finishReason: s.finishReason)
                switch method {
                case .iap(let prefill):
                    let parsed = RolloutParser.parse(prefill + s.text, echo: echo)
                    answer.reply = prefill + s.text
                    answer.response = (parsed.answer ?? RolloutParser.withoutTags(prefill + s.text)).trimmedWhitespace
                    answer.intents = parsed.intents
                    answer.valid = parsed.isValid
                    answer.problem = parsed.problem
                    answer.degeneration = parsed.degeneration
                case .baseline:
                    answer.response = BaselineMethod.finalAnswer(s.text).trimmedWhitespace
                }
                batch.append(answer)
            }
            try batchDone(start, batch)
            out += batch
            progress(min(start + size, records.count), records.count)
        }
        return out
    }
}
