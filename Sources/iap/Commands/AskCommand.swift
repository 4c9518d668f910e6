import ArgumentParser
import CommandSupport
import IAP
import LaMPQA
import ModelFormats
import SafeTensors
import Torch
import Transformers
import LaMPQACore
import IAPCore

/// `iap ask`: one question to an IAP model: its inferred intents and personalized answer.
struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask", abstract: "Ask an IAP-trained model a question: prints the inferred intents and the answer (streams; --json).")

    @Argument(help: "The question.")
    var question: String

    @OptionGroup var model: ModelOptions

    @Option(help: "What the model should know about you (shown as in training: \"About me: …\").")
    var userContext: String?

    @Option(help: "Maximum new tokens (intents and answer together).")
    var maxTokens = 512
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature = 0.0
    @Option(help: "Seed of sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Print {\"intents\": [...], \"answer\": ..., \"valid\": ..., \"problem\": ..., \"completion\": ...}.")
    var json = false

    @OptionGroup var scaffolding: ScaffoldOptions

    func validate() throws {
        try FlagCheck.atLeast("--max-tokens", maxTokens, 1)
        try FlagCheck.within("--temperature", temperature, 0...100)
    }

    func run() throws {
        let format = try scaffolding.format(model: model.adapter ?? model.model)
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(model.model, adapter: model.adapter)
        let prompt = format.prompt ?? .standard
        var input = "Question: \(question)"
        if let userContext, !userContext.isEmpty { input += "\n\nAbout me: \(userContext)" }
        let ids: [Int]
        do {
            var chat = try template.render(prompt.messages(input: input), addGenerationPrompt: true)
            if !format.prefill.isEmpty { chat.parts.append(.template(format.prefill)) }
            ids = tokenizer.encode(chat)
        } catch {
            throw CLI.failure(error)
        }
        var options = GenerationOptions()
        options.maxNewTokens = maxTokens
        options.greedy = temperature == 0
        options.temperature = max(temperature, 1e-3)
        options.seed = seed
        options.scaffold = format.blockScaffold
        options.addStops(of: template)
        let out: [GeneratedSequence]
        do {
            out = try lm.generate(prompts: [ids], tokenizer: tokenizer, options: options) { _, piece in if !json { CLI.writeOutput(piece) }
            }
        } catch {
            throw CLI.failure(error)
        }
        show(format.prefill + out[0].text, prompt: prompt)
    }

    /// The reply's intents and answer: as JSON, or as text after the streamed reply.
    func show(_ reply: String, prompt: RolloutPrompt) {
        let parsed = RolloutParser.parse(reply, echo: PromptEcho(prompt))
        if json {
            CommandOutput.print(
                CommandOutput.Answer(
                    intents: parsed.intents, answer: parsed.answer ?? RolloutParser.withoutTags(reply), valid: parsed.isValid,
                    problem: parsed.problem, completion: reply), pretty: true)
            return
        }
        CLI.writeOutput("\n\n")
        if parsed.intents.isEmpty {
            print("(no intent list: \(parsed.problem ?? "none found"))")
        } else {
            print("Inferred intents:")
            for (i, intent) in parsed.intents.enumerated() { print("  \(i + 1). \(intent)") }
        }
        if let answer = parsed.answer { print("Answer:\n\(answer.trimmedWhitespace)") }
    }
}
