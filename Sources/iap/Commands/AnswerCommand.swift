import ArgumentParser
import IAP
import LaMPQA
import ModelFormats
import SafeTensors
import Torch
import Transformers

/// `iap answer`: a model's answers to a split, in the benchmark's responses format.
struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer a split's questions and write the benchmark's responses file (iap: also the inferred intents).")

    @Option(help: "iap (the tagged rollout; the <answer> block is the response), non-personalized, implicit-intent or explicit-intent.")
    var method = "iap"

    @Option(help: "explicit-intent: the .intents.json an `iap answer --method iap` run wrote.")
    var intents: String?

    @Option(help: "A prompt file ([system]/[user] with {input}, and {intents} for explicit-intent) instead of the built-in one.")
    var promptFile: String?

    @Option(help: "A known model name, a path, or a checkpoint folder of iap train.")
    var model = "smollm2-135m-instruct"

    @Option(help: "Folder with the benchmark's files.")
    var data = "data/sample"

    @Option var split = "test"

    @Option(help: "What the model is shown: question, narrative, profile:K, narrative+profile:K.")
    var input = "narrative"

    @Option(help: "At most this many questions per domain.")
    var limit: Int?

    @Option(help: "Maximum new tokens per answer.")
    var maxTokens = 160

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature = 0.0

    @Option(help: "Text the reply starts with (e.g. <think>), as in training.")
    var prefill = ""

    @Option(help: "Questions generated together.")
    var batch = 16

    @Option(help: "Responses file to write.")
    var out: String

    func run() async throws { try produce() }

    /// Synchronous on purpose: Swift 6.3's optimiser crashes splitting this body as an async function.
    func produce() throws {
        let baseline = BaselineMethod(rawValue: method)
        guard method == "iap" || baseline != nil else {
            throw CLI.failure("--method \(method): iap, non-personalized, implicit-intent or explicit-intent")
        }
        var givenIntents: [String: [String]] = [:]
        if baseline == .explicitIntent {
            guard let intents else { throw CLI.failure("--method explicit-intent needs --intents FILE (from iap answer --method iap)") }
            do {
                let document = try JSONValue.parse(String(decoding: try AtomicFile.read(intents), as: UTF8.self))
                for (id, value) in document.objectValue ?? [] {
                    givenIntents[id] = value["intents"]?.arrayValue?.compactMap(\.stringValue) ?? []
                }
            } catch {
                throw CLI.failure("\(intents): \(error)")
            }
        }
        var prompt: RolloutPrompt = baseline?.prompt ?? .standard
        if let promptFile {
            do { prompt = try RolloutPrompt.load(promptFile) } catch { throw CLI.failure(error) }
        }
        guard let split = LaMPQASplit(rawValue: split) else { throw CLI.failure("--split: train, validation or test") }
        guard let mode = PolicyInputMode(name: input) else { throw CLI.failure("--input \(input): question, narrative, profile:K or narrative+profile:K") }
        Torch.keepFreedMemory()
        var options = LaMPQADataset.Options()
        options.split = split
        options.limit = limit
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: data, options: options) } catch { throw CLI.failure(error) }
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(model)
        // Non-personalized means no user information at all: the question only.
        let builder = PolicyInputBuilder(mode: baseline == .nonPersonalized ? .questionOnly : mode)
        var generation = GenerationOptions()
        generation.maxNewTokens = maxTokens
        generation.greedy = temperature == 0
        generation.temperature = max(temperature, 1e-3)
        var responses: [(id: String, text: String)] = []
        var intents: [(String, JSONValue)] = []
        for start in stride(from: 0, to: dataset.records.count, by: max(1, batch)) {
            let chunk = Array(dataset.records[start..<min(start + max(1, batch), dataset.records.count)])
            let prompts = try chunk.map { record -> [Int] in
                let text = try builder.render(record)
                let messages =
                    baseline == .explicitIntent
                    ? prompt.messages(input: text, intents: givenIntents[record.id] ?? []) : prompt.messages(input: text)
                var chat = try template.render(messages, addGenerationPrompt: true)
                if !prefill.isEmpty { chat.parts.append(.template(prefill)) }
                return tokenizer.encode(chat)
            }
            let out = try lm.generate(prompts: prompts, tokenizer: tokenizer, options: generation)
            for (record, sequence) in zip(chunk, out) {
                if method == "iap" {
                    let parsed = RolloutParser.parse(prefill + sequence.text)
                    // The <answer> block when there is one; otherwise the whole reply without tags.
                    let answer = parsed.answer ?? IAPTrainer.withoutTags(prefill + sequence.text)
                    responses.append((record.id, answer.trimmingCharacters()))
                    intents.append((record.id, .object([
                        ("intents", .array(parsed.intents.map { .string($0) })), ("valid", .bool(parsed.isValid)),
                        ("problem", parsed.problem.map { .string($0) } ?? .null),
                    ])))
                } else {
                    responses.append((record.id, BaselineMethod.finalAnswer(sequence.text).trimmingCharacters()))
                }
            }
            CLI.note("\(min(start + batch, dataset.records.count))/\(dataset.records.count) questions answered")
        }
        do {
            try ResponsesFile.write(responses, to: out)
            if method == "iap" {
                let path = out.hasSuffix(".json") ? String(out.dropLast(5)) + ".intents.json" : out + ".intents.json"
                try AtomicFile.write(JSONValue.object(intents).pretty() + "\n", to: path)
            }
        } catch {
            throw CLI.failure(error)
        }
        print("wrote \(out) (\(responses.count) responses)")
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = self[...]
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
