import ArgumentParser
import LaMPQA
import ModelStore
import ModelFormats
import SafeTensors
import Torch
import Transformers

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
    var split = "test"

    @Option(parsing: .upToNextOption, help: "Responses files ({id: [{\"output\": text}]}); ids may span domains.")
    var responses: [String]

    @Option(help: "Judge backend: embedding (CPU proxy), local (a causal LM in process) or openai.")
    var judge = "embedding"

    @Option(help: "Judge model: a known name or path (default: all-minilm-l6-v2 for embedding, smollm2-135m-instruct for local).")
    var judgeModel: String?

    @Option(help: "OpenAI-compatible base URL of the judge, e.g. http://127.0.0.1:8000/v1 (repeat to balance over several).")
    var judgeUrl: [String] = []

    @Option(help: "Environment variable holding the judge server's API key (the key itself is never printed or saved).")
    var judgeApiKeyEnv: String?

    @Option(help: "Seconds before a judge request times out.")
    var judgeTimeout = 120.0

    @Option(help: "Judge prompt file ([system] / [user] sections; docs/judge-prompt.md).")
    var judgePrompt: String?

    @Option(help: "Domains to evaluate (art, lifestyle, society or full names); default all.")
    var domains: [String] = []

    @Option(help: "At most this many questions per domain.")
    var limit: Int?

    @Option(help: "With --limit: draw the questions at random with this seed instead of taking the first ones.")
    var sampleSeed: UInt64?

    @Flag(help: "Skip invalid records with a warning instead of stopping.")
    var skipInvalid = false

    @Option(help: "Retry rounds for unusable judge answers (the benchmark uses 100).")
    var retryRounds = 10

    @Option(help: "Maximum new tokens of an LLM judge's answer.")
    var judgeMaxTokens = 256

    @Option(help: "Judge requests in flight at once.")
    var concurrency = 16

    @Flag(help: "Do not read or write the judge cache.")
    var noCache = false

    @Option(help: "Judge cache file (default: $IAP_CACHE/judge/verdicts.jsonl).")
    var cache: String?

    @Option(help: "Output folder (one subfolder per responses file when several are given).")
    var out: String

    func run() async throws {
        guard let split = LaMPQASplit(rawValue: split) else { throw CLI.failure("--split \(split): use train, validation or test") }
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
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: data, options: options) } catch { throw CLI.failure(error) }
        for warning in dataset.warnings { CLI.note("warning: \(warning)") }
        let judge = try makeJudge()
        var judgeCache: JudgeCache?
        if !noCache {
            let path = cache ?? (ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl")
            do { try FileSystem.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])) } catch { throw CLI.failure(error) }
            do { judgeCache = try JudgeCache(path: path) } catch { throw CLI.failure(error) }
        }
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
        for responsesPath in responses {
            let answers: [String: String]
            do { answers = try ResponsesFile.load(responsesPath) } catch { throw CLI.failure(error) }
            let folder = responses.count > 1 ? out + "/" + baseName(responsesPath) : out
            do { try FileSystem.makeDirectories(folder) } catch { throw CLI.failure(error) }
            var evaluator = Evaluator(judge: judge, cache: judgeCache)
            evaluator.retryRounds = retryRounds
            evaluator.parallelCalls = judge.identity.hasPrefix("llm:openai") ? 1 : 4
            evaluator.batchSize = judge.identity.hasPrefix("llm:openai") ? max(64, concurrency * 4) : 64
            let terminal = isatty(2) != 0
            let report = try await evaluator.evaluate(records: dataset.records, responses: answers) { p in
                let eta = p.secondsLeft.map { " ETA \(Int($0))s" } ?? ""
                let line = "\(baseName(responsesPath)): \(p.done)/\(p.total) items, round \(p.round), \(Int(p.rate * 10) / 10)/s\(eta)"
                if terminal { CLI.writeError("\r" + line) } else if p.done == p.total { CLI.note(line) }
            }
            if terminal { CLI.writeError("\n") }
            try write(report, dataset: dataset, split: split, responsesPath: responsesPath, to: folder)
        }
    }

    private func makeJudge() throws -> RubricJudge {
        try JudgeFactory.make(JudgeFactory.Options(
            backend: judge, model: judgeModel, urls: judgeUrl, apiKeyVariable: judgeApiKeyEnv, concurrency: concurrency,
            timeout: judgeTimeout, maxTokens: judgeMaxTokens, promptFile: judgePrompt))
    }

    private func write(_ report: EvaluationReport, dataset: LaMPQADataset, split: LaMPQASplit, responsesPath: String, to folder: String) throws {
        for domain in LaMPQADomain.allCases where report.domainScores[domain] != nil {
            let questions = report.questions.filter { $0.domain == domain }
            let path = "\(folder)/\(domain.rawValue)_\(split.rawValue).scores.json"
            do { try AtomicFile.write(RubricScores.scoresFile(questions).pretty(), to: path) } catch { throw CLI.failure(error) }
        }
        let summary = JSONValue.object([
            ("responses", .string(responsesPath)), ("data", .string(dataset.folder)), ("split", .string(split.rawValue)),
            ("judge", .string(report.judgeIdentity)), ("judge_is_proxy", .bool(report.judgeIsProxy)),
            ("prompt_version", .string(report.promptVersion)),
            ("domains", .object(report.domainScores.sorted { $0.key < $1.key }.map { ($0.key.rawValue, .double($0.value)) })),
            ("macro", report.macro.map { .double($0) } ?? .null),
            ("questions", .int(report.questions.count)), ("judge_calls", .int(report.calls)), ("cache_hits", .int(report.cacheHits)),
            ("retries", .int(report.retries)),
            ("failed_items", .array(report.failed.map { .object([("id", .string($0.id)), ("aspect", .string($0.aspect)), ("problem", .string($0.problem))]) })),
            ("missing_responses", .array(report.missingResponses.map { .string($0) })),
        ])
        do { try AtomicFile.write(summary.pretty(), to: folder + "/summary.json") } catch { throw CLI.failure(error) }
        print("\(baseName(responsesPath))  judge \(report.judgeIdentity)\(report.judgeIsProxy ? " (proxy)" : "")")
        for (domain, score) in report.domainScores.sorted(by: { $0.key < $1.key }) {
            print("  \(domain.rawValue.padding(toLength: 36)) \(formatScore(score))")
        }
        if let macro = report.macro { print("  \("macro average".padding(toLength: 36)) \(formatScore(macro))") }
        print("  judge calls \(report.calls), cache hits \(report.cacheHits), retries \(report.retries), failed \(report.failed.count)")
        if !report.missingResponses.isEmpty {
            CLI.note("warning: \(report.missingResponses.count) questions have no response and were not scored (listed in summary.json)")
        }
    }
}

func formatScore(_ x: Double) -> String { ResultsTable.format(x) }

func baseName(_ path: String) -> String {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
}
