import ArgumentParser
import CommandSupport
import FileIO
import LaMPQA
import ModelStore
import ModelFormats
import SafeTensors
import Torch
import Transformers
import LaMPQACore

#if canImport(Glibc)
    import Glibc
#endif

/// `iap evaluate`: LaMP-QA rubric scores of responses files.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score responses with the LaMP-QA rubric judge: per-domain scores files, summary.json and a table.")

    @Option(help: "Folder with {Configuration}_{split}.json files (e.g. data/sample).")
    var data: String

    @Option(help: "Split: train, validation or test.")
    var split = LaMPQASplit.test

    @Option(parsing: .upToNextOption, help: "Responses files ({id: [{\"output\": text}]}); ids may span domains.")
    var responses: [String]

    @OptionGroup var judgeOptions: JudgeOptions

    @Option(help: "Domains to evaluate (art, lifestyle, society or full names); default all.")
    var domains: [String] = []

    @Option(help: "At most this many questions per domain.")
    var limit: Int?

    @Option(help: "With --limit: draw the questions at random with this seed instead of taking the first ones.")
    var sampleSeed: UInt64?

    @Flag(help: "Skip invalid records with a warning instead of stopping.")
    var skipInvalid = false

    @Option(help: "Output folder (one subfolder per responses file when several are given).")
    var out: String

    /// The data flags as dataset options.
    func datasetOptions() throws(ExitCode) -> LaMPQADataset.Options {
        var options = LaMPQADataset.Options()
        options.split = split
        options.limit = limit
        options.sampleSeed = sampleSeed
        options.skipInvalid = skipInvalid
        if !domains.isEmpty {
            options.domains = try domains.map { (name) throws(ExitCode) -> LaMPQADomain in
                guard let d = LaMPQADomain(name: name) else { throw CLI.failure("--domains \(name): use art, lifestyle or society") }
                return d
            }
        }
        return options
    }

    /// Each responses file gets the subfolder named after it: two of one name would write
    /// over each other.
    func checkDistinctNames() throws(ExitCode) {
        guard responses.count > 1 else { return }
        var seen: [String: String] = [:]
        for path in responses {
            if let other = seen.updateValue(path, forKey: FileSystem.baseName(path)) {
                throw CLI.failure(
                    "--responses \(other) and \(path) have the same file name, so their results would share \(out)/\(FileSystem.baseName(path)): rename one"
                )
            }
        }
    }

    func run() async throws {
        let options = try datasetOptions()
        try checkDistinctNames()
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: data, options: options) } catch { throw CLI.failure(error) }
        for warning in dataset.warnings { CLI.note("warning: \(warning)") }
        let judge = try judgeOptions.makeJudge()
        let judgeCache = try judgeOptions.makeCache()
        // Ctrl-C: every verdict so far is already a complete line in the cache, so stopping at
        // once is safe; the same command resumes from there.
        signal(SIGINT) { _ in
            let message: StaticString = "\ninterrupted: verdicts so far are in the judge cache; rerun the same command to resume\n"
            _ = Glibc.write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(130)
        }
        if judge.isProxy {
            CLI.note("note: the \(judge.identity) judge is a proxy for the LaMP-QA LLM judge; its scores are not benchmark scores.")
        }
        var incomplete: [String] = []
        for responsesPath in responses {
            let report = try await evaluate(
                responsesPath, dataset: dataset, split: options.split, evaluator: judgeOptions.evaluator(judge, cache: judgeCache))
            if !report.isComplete { incomplete.append(folder(of: responsesPath)) }
        }
        if !incomplete.isEmpty {
            throw CLI.failure(
                "incomplete: judge calls failed, so \(incomplete.joined(separator: ", ")) holds no results (summary.json lists the items); "
                    + "rerun the same command when the judge is reachable: the verdicts so far are in the judge cache")
        }
    }

    /// The scores of one responses file go into `out`, or `out/<file name>` with several.
    func folder(of responsesPath: String) -> String { responses.count > 1 ? out + "/" + FileSystem.baseName(responsesPath) : out }

    /// Scores one responses file (its answers must be questions of the split) and shows the summary.
    func evaluate(_ responsesPath: String, dataset: LaMPQADataset, split: LaMPQASplit, evaluator: Evaluator) async throws(ExitCode)
        -> EvaluationReport
    {
        let answers: [String: String]
        do { answers = try ResponsesFile.load(responsesPath) } catch { throw CLI.failure(error) }
        guard dataset.records.contains(where: { answers[$0.id] != nil }) else {
            throw CLI.failure(
                "\(responsesPath): none of its \(answers.count) ids is a question of \(data) \(split.rawValue) (answers of another split or data set?)"
            )
        }
        let report: EvaluationReport
        do {
            report = try await EvaluationFolder(path: folder(of: responsesPath)).evaluate(
                answers, responses: responsesPath, dataset: dataset, evaluator: evaluator,
                progress: EvaluationDisplay.progress(FileSystem.baseName(responsesPath)))
        } catch {
            throw CLI.failure("\(error)")
        }
        EvaluationDisplay.show(report, responses: responsesPath)
        return report
    }
}
