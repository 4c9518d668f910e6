import ArgumentParser
import CommandSupport
import LaMPQA
import ModelStore
import SafeTensors
import FileIO
import LaMPQACore

/// The judge flags of every command that scores answers (evaluate, ablate, sft), with the
/// judge cache they share. Defaults follow the benchmark's protocol (SPEC-LAMPQA: max_tokens
/// 4096, 100 retry rounds); cheaper values are flags.
struct JudgeOptions: ParsableArguments {
    @Option(help: "Judge backend: embedding (CPU proxy), local (a causal LM in process) or openai.")
    var judge = JudgeBackend.embedding

    @Option(help: "Judge model: a known name or path (default: all-minilm-l6-v2 for embedding, smollm2-135m-instruct for local).")
    var judgeModel: String?

    @Option(help: "A LoRA adapter folder on the local judge's model.")
    var judgeAdapter: String?

    @Option(help: "OpenAI-compatible base URL of the judge, e.g. http://127.0.0.1:8000/v1 (repeat to balance over several).")
    var judgeUrl: [String] = []

    @Option(help: "Environment variable holding the judge server's API key (the key itself is never printed or saved).")
    var judgeApiKeyEnv: String?

    @Option(help: "Seconds before a judge request times out.")
    var judgeTimeout = 120.0

    @Option(help: "Judge prompt file ([system] / [user] sections; docs/judge-prompt.md).")
    var judgePrompt: String?

    @Option(help: "Retry rounds for unusable judge answers (the benchmark's 100; fewer are cheaper with a judge that rarely fails).")
    var retryRounds = 100

    @Option(help: "Maximum new tokens of an LLM judge's answer (the benchmark's 4096; 256 is enough for a judge that answers tersely).")
    var judgeMaxTokens = 4096

    @Option(help: "Judge requests in flight at once.")
    var concurrency = 16

    @Option(help: "Attempts per judge request (429, 5xx, timeouts and connection errors are retried with backoff).")
    var judgeAttempts = 6

    @Flag(help: "Do not read or write the judge cache.")
    var noCache = false

    @Option(help: "Judge cache file (default: $IAP_CACHE/judge/verdicts.jsonl).")
    var cache: String?

    func validate() throws {
        try FlagCheck.seconds("--judge-timeout", judgeTimeout)
        try FlagCheck.atLeast("--retry-rounds", retryRounds, 0)
        try FlagCheck.atLeast("--judge-max-tokens", judgeMaxTokens, 1)
        try FlagCheck.atLeast("--concurrency", concurrency, 1)
        try FlagCheck.atLeast("--judge-attempts", judgeAttempts, 1)
    }

    /// The judge these flags describe.
    var settings: RubricJudgeSettings {
        var s = RubricJudgeSettings()
        s.backend = judge
        s.model = judgeModel
        s.adapter = judgeAdapter
        s.urls = judgeUrl
        s.apiKeyVariable = judgeApiKeyEnv
        s.concurrency = concurrency
        s.timeout = judgeTimeout
        s.maxTokens = judgeMaxTokens
        s.promptFile = judgePrompt
        s.attempts = judgeAttempts
        return s
    }

    func makeJudge() throws(ExitCode) -> RubricJudge {
        do { return try settings.makeJudge(log: { CLI.note($0) }) } catch { throw CLI.failure(error) }
    }

    func makeCache() throws(ExitCode) -> JudgeCache? {
        guard !noCache else { return nil }
        let path = cache ?? (ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl")
        do { try FileSystem.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])) } catch {
            throw CLI.failure(error)
        }
        do { return try JudgeCache(path: path) } catch { throw CLI.failure(error) }
    }

    /// An evaluator with the flags' retry rounds (batching as the judge prefers it).
    func evaluator(_ judge: RubricJudge, cache: JudgeCache?) -> Evaluator {
        var evaluator = Evaluator(judge: judge, cache: cache)
        evaluator.retryRounds = retryRounds
        return evaluator
    }
}
