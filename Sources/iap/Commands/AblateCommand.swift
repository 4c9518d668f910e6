import ArgumentParser
import CommandSupport
import IAP
import LaMPQA
import ModelFormats
import SafeTensors
import Torch
import Transformers
import FileIO
import LaMPQACore
import IAPCore

#if canImport(Glibc)
    import Glibc
#endif

/// `iap ablate`: the paper's analyses as commands (Table 2, Figure 4). Tables 3 and 4 are
/// training runs: configs/ablations/*.yaml, tabulated by `iap compare`.
struct AblateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablate",
        abstract: "Analyses: intent ablation (Table 2) and scores by intent-count bucket (Figure 4).",
        subcommands: [AblateIntentsCommand.self, AblateBucketsCommand.self])
}

/// Table 2: a trained model answers with no intent, a random intent from the same domain, a
/// random intent from another domain, and its own selected intents; each is scored and the
/// drop from the selected intent reported.
struct AblateIntentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intents",
        abstract: "Intent ablation: answer under four intent conditions, score them, tabulate the drop from the selected intent.")

    @Option(help: "The trained model (name, path or checkpoint folder).")
    var model: String

    @Option(
        help:
            "A LoRA adapter folder (PEFT: adapter_config.json, adapter_model.safetensors) applied to the model; a LoRA run's checkpoint may also be given as the model itself."
    )
    var adapter: String?

    @Option(help: "The model's own intents: the .intents.json of `iap answer --method iap` on the same split.")
    var intents: String

    @Option(help: "Folder with the benchmark's files.")
    var data = "data/sample"

    @Option(help: "Split: train, validation or test (the split the intents were inferred on).")
    var split = LaMPQASplit.test

    @Option(help: "What the model is shown: question, narrative, profile:K, narrative+profile:K.")
    var input = PolicyInputMode.questionAndNarrative

    @Option(help: "At most this many questions per domain.")
    var limit: Int?

    @Option(help: "Conditions to run (default all): no-intent, in-group-random, cross-group-random, selected.")
    var conditions: [IntentCondition] = []

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Questions generated together.")
    var batch = 16

    @OptionGroup var judgeOptions: JudgeOptions

    @Option(help: "Output folder: <condition>.responses.json, <condition>/ (scores), intent-ablation.{md,csv,json}.")
    var out: String

    func validate() throws {
        try FlagCheck.atLeast("--batch", batch, 1)
        try FlagCheck.atLeast("--limit", limit, 1)
    }

    func run() async throws {
        let chosen = conditions.isEmpty ? IntentCondition.allCases : conditions
        let run: IntentAblationRun
        do {
            let dataset = try LaMPQADataset(folder: data, options: LaMPQADataset.Options(split: split, limit: limit))
            run = IntentAblationRun(dataset: dataset, intents: try IntentsFile.load(intents), conditions: chosen, folder: out)
        } catch {
            throw CLI.failure(error)
        }
        let (covered, nonEmpty) = run.coverage
        guard covered > 0 else {
            throw CLI.failure("\(intents): none of the \(run.dataset.records.count) questions of \(data) \(split) has intents there")
        }
        CLI.note("\(intents): intents for \(covered) of \(run.dataset.records.count) questions, \(nonEmpty) non-empty")
        CLI.note(run.grouping.note)
        // Answers first (kept: a rerun skips conditions already answered), then the judge.
        try produceAnswers(run)
        let evaluator = judgeOptions.evaluator(try judgeOptions.makeJudge(), cache: try judgeOptions.makeCache())
        let table: DeltaTable
        do {
            table = try await run.score(with: evaluator) { condition, p in EvaluationDisplay.progress(condition.rawValue)(p) }
        } catch {
            throw CLI.failure("\(error)")
        }
        print(table.markdown)
        print("written: \(out)/intent-ablation.{md,csv,json}")
    }

    /// Synchronous on purpose (Swift 6.3's optimiser and generation closures in async bodies).
    func produceAnswers(_ run: IntentAblationRun) throws {
        guard !run.pending.isEmpty else { return }
        Torch.keepFreedMemory()
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(model, adapter: adapter)
        var generator = AnswerGenerator(
            model: lm, tokenizer: tokenizer, template: template, input: PolicyInputBuilder(mode: input), method: .baseline(.explicitIntent),
            options: decoding.generation)
        generator.batch = batch
        do {
            try run.answer(with: generator, seed: decoding.seed) { condition, done, total in
                CLI.note("\(condition.rawValue): \(done)/\(total) questions answered")
            }
        } catch {
            throw CLI.failure("\(error)")
        }
    }
}

/// `--conditions no-intent|in-group-random|cross-group-random|selected`.
extension IntentCondition: ExpressibleByArgument {}
