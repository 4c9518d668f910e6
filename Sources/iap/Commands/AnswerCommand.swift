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

    @OptionGroup var model: ModelOptions

    @OptionGroup var runtime: RuntimeOptions

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
        let shapesReply = !prefill.isEmpty || scaffolding.scaffold != .auto || scaffolding.blockBudgets != nil
        if let ignored = answering.ignoredSetting(input: input != nil, intents: intents != nil, replyFormat: shapesReply) {
            throw ValidationError(ignored)
        }
    }

    func run() async throws { try produce() }

    /// Synchronous on purpose: Swift 6.3's optimiser crashes splitting this body as an async function.
    func produce() throws {
        let format = try scaffolding.format(model: model.adapter ?? model.model, prefill: prefill)
        guard let answering = AnsweringMethod(name: method, prefill: format.prefill) else {
            throw CLI.failure("--method \(method): \(AnsweringMethod.names.joined(separator: ", "))")
        }
        Torch.keepFreedMemory()
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: data, options: LaMPQADataset.Options(split: split, limit: limit)) } catch {
            throw CLI.failure(error)
        }
        let device = try runtime.resolvedDevice()
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(
            model.model, adapter: model.adapter, dtype: runtime.dtype.dtype, device: device)
        var generation = decoding.generation
        if case .iap = answering { generation.scaffold = format.blockScaffold }
        var generator = AnswerGenerator(
            model: lm, tokenizer: tokenizer, template: template, input: PolicyInputBuilder(mode: answering.input(mode)),
            method: answering, prompt: try prompt(answering, trained: format.prompt), options: generation)
        generator.batch = batch
        let run = AnsweringRun(
            generator: generator, records: dataset.records, intents: try givenIntents(answering), out: out,
            settings: settings(format, generation: generation))
        let outcome: AnsweringRun.Outcome
        do { outcome = try run.run { CLI.note($0) } } catch { throw CLI.failure("\(error)") }
        if let summary = outcome.format { print("format: \(summary.line)") }
        print("wrote \(out) (\(outcome.answers.count) responses)")
    }

    var mode: PolicyInputMode { input ?? .questionAndNarrative }

    /// Explicit intent: the intents file's; other methods: none.
    func givenIntents(_ answering: AnsweringMethod) throws(ExitCode) -> [String: [String]]? {
        guard answering == .baseline(.explicitIntent) else { return nil }
        guard let intents else { throw CLI.failure("--method explicit-intent needs --intents FILE (from iap answer --method iap)") }
        do { return try IntentsFile.load(intents) } catch { throw CLI.failure(error) }
    }

    /// --prompt-file's, else the trained run's (IAP), else the method's own.
    func prompt(_ answering: AnsweringMethod, trained: RolloutPrompt?) throws(ExitCode) -> RolloutPrompt {
        if let promptFile {
            do { return try RolloutPrompt.load(promptFile) } catch { throw CLI.failure(error) }
        }
        if case .iap = answering, let trained { return trained }
        return answering.defaultPrompt
    }

    /// What the answers depend on (a kept partial file must have been made with the same).
    func settings(_ format: RolloutFormat, generation: GenerationOptions) -> String {
        [
            model.model, runtime.dtype == .float32 ? "" : "\(runtime.dtype.dtype)", method, format.prefill,
            "\(format.scaffold) \(format.blockBudgets)", promptFile ?? "", intents ?? "", data, split.rawValue, mode.name,
            limit.map(String.init) ?? "all", "\(generation)", "batch \(batch)",
        ].joined(separator: " | ")
    }
}
