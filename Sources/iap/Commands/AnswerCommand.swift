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

/// `iap answer`: a model's answers to a split, in the benchmark's responses format.
struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer a split's questions and write the benchmark's responses file (iap: also the inferred intents).")

    @Option(
        help:
            "iap (the tagged rollout; the <answer> block is the response), non-personalized, implicit-intent, explicit-intent or direct (no instruction; SFT models)."
    )
    var method = "iap"

    @Option(help: "explicit-intent: the .intents.json an `iap answer --method iap` run wrote.")
    var intents: String?

    @Option(help: "A prompt file ([system]/[user] with {input}, and {intents} for explicit-intent) instead of the built-in one.")
    var promptFile: String?

    @Option(help: "A known model name, a path, or a checkpoint folder of iap train.")
    var model = "smollm2-135m-instruct"

    @Option(
        help:
            "A LoRA adapter folder (PEFT: adapter_config.json, adapter_model.safetensors) applied to the model; a LoRA run's checkpoint may also be given as the model itself."
    )
    var adapter: String?

    @Option(help: "Device: auto (a GPU when one can be used, else the CPU), cpu or cuda[:N].")
    var device = "auto"

    @Option(help: "Weights' type: float32, bfloat16 or float16 (the paper's models on a GPU: bfloat16).")
    var dtype = "float32"

    @Option(help: "Folder with the benchmark's files.")
    var data = "data/sample"

    @Option(help: "Split: train, validation or test.")
    var split = LaMPQASplit.test

    @Option(
        help:
            "What the model is shown: question, narrative (the default), profile:K, narrative+profile:K. Not with non-personalized (the question alone)."
    )
    var input: PolicyInputMode?

    @Option(help: "At most this many questions per domain.")
    var limit: Int?

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Text the reply starts with (e.g. <think>), as in training (default: the model's).")
    var prefill = ""

    @OptionGroup var scaffolding: ScaffoldOptions

    @Option(help: "Questions generated together.")
    var batch = 16

    @Option(help: "Responses file to write.")
    var out: String

    func validate() throws {
        try FlagCheck.atLeast("--batch", batch, 1)
        // An unknown method is produce()'s error (exit 1, like every other bad value here).
        guard let answering = AnsweringMethod(name: method) else { return }
        let shapesReply = !prefill.isEmpty || scaffolding.scaffold != "auto" || scaffolding.blockBudgets != nil
        if let ignored = answering.ignoredSetting(input: input != nil, intents: intents != nil, replyFormat: shapesReply) {
            throw ValidationError(ignored)
        }
    }

    func run() async throws { try produce() }

    /// Synchronous on purpose: Swift 6.3's optimiser crashes splitting this body as an async function.
    func produce() throws {
        let format = try scaffolding.format(model: adapter ?? model, prefill: prefill)
        guard let answering = AnsweringMethod(name: method, prefill: format.prefill) else {
            throw CLI.failure("--method \(method): \(AnsweringMethod.names.joined(separator: ", "))")
        }
        var givenIntents: [String: [String]]?
        if answering == .baseline(.explicitIntent) {
            guard let intents else { throw CLI.failure("--method explicit-intent needs --intents FILE (from iap answer --method iap)") }
            do { givenIntents = try IntentsFile.load(intents) } catch { throw CLI.failure(error) }
        }
        var prompt = answering.defaultPrompt
        if case .iap = answering, let trained = format.prompt { prompt = trained }
        if let promptFile {
            do { prompt = try RolloutPrompt.load(promptFile) } catch { throw CLI.failure(error) }
        }
        let mode = input ?? .questionAndNarrative
        Torch.keepFreedMemory()
        var options = LaMPQADataset.Options()
        options.split = split
        options.limit = limit
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: data, options: options) } catch { throw CLI.failure(error) }
        let runtime = try CLI.runtime(dtype: dtype, device: device)
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(model, adapter: adapter, dtype: runtime.dtype, device: runtime.device)
        let builder = PolicyInputBuilder(mode: answering.input(mode))
        var generation = decoding.generation
        if case .iap = answering { generation.scaffold = format.blockScaffold }
        var generator = AnswerGenerator(
            model: lm, tokenizer: tokenizer, template: template, input: builder, method: answering, prompt: prompt, options: generation)
        generator.batch = batch
        // Finished batches are kept beside the output as they come, so Ctrl-C loses at most one.
        let kept = AnswerProgressFile(
            output: out,
            settings: [
                model, runtime.dtype == .float32 ? "" : "\(runtime.dtype)", method, format.prefill,
                "\(format.scaffold) \(format.blockBudgets)", promptFile ?? "", intents ?? "", data, split.rawValue, mode.name,
                limit.map(String.init) ?? "all",
                "\(generation)", "batch \(batch)",
            ].joined(separator: " | "))
        let finished: [Int: [GeneratedAnswer]]
        do { finished = try kept.finished() } catch { throw CLI.failure(error) }
        if !finished.isEmpty { CLI.note("\(kept.path): continuing after \(finished.values.map(\.count).reduce(0, +)) answers made before") }
        let answers: [GeneratedAnswer]
        do {
            answers = try generator.answer(
                dataset.records, intents: givenIntents, finished: finished,
                batchDone: { start, batch in try kept.append(start: start, batch) }
            ) { done, total in CLI.note("\(done)/\(total) questions answered") }
        } catch {
            throw CLI.failure("\(error)")
        }
        do {
            try ResponsesFile.write(answers.map { ($0.id, $0.response) }, to: out)
            if case .iap = answering {
                let intents = answers.map {
                    ($0.id, InferredIntents(intents: $0.intents, valid: $0.valid, problem: $0.problem, degeneration: $0.degeneration))
                }
                try IntentsFile.write(Dictionary(intents, uniquingKeysWith: { a, _ in a }), to: IntentsFile.path(forResponses: out))
                print("format: \(ReplyFormatSummary(intents.map(\.1)).line)")
            }
        } catch {
            throw CLI.failure(error)
        }
        kept.remove()
        print("wrote \(out) (\(answers.count) responses)")
    }
}
