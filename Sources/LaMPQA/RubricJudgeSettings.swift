import LaMPQACore
import Transformers

/// Which rubric judge scores answers and how it is reached: what the judge flags of
/// `iap evaluate` and `iap ablate` and the `judge:` section of a training config say.
public struct RubricJudgeSettings: Sendable {
    public var backend = JudgeBackend.embedding
    /// A model name or path (embedding, local) or the served model's name (openai).
    public var model: String?
    /// A LoRA adapter folder on the local judge's model.
    public var adapter: String?
    /// OpenAI-compatible base URLs, balanced round-robin (default: a server on this machine).
    public var urls: [String] = []
    public var apiKeyVariable: String?
    public var concurrency = 16
    /// Seconds before one request times out.
    public var timeout = 120.0
    public var maxTokens = 4096
    /// A `[system]`/`[user]` judge prompt file instead of the built-in one.
    public var promptFile: String?
    /// Attempts per request (429, 5xx, timeouts and dropped connections are retried).
    public var attempts = 6

    public init() {}

    /// The judge, its model loaded (embedding, local) or its server's settings checked
    /// (openai); `log` hears about model downloads.
    public func makeJudge(log: @escaping PretrainedModel.Log = { _ in }) throws(JudgeConfigurationError) -> RubricJudge {
        switch backend {
        case .embedding:
            let name = model ?? "all-minilm-l6-v2"
            do {
                let files = try PretrainedModel.files(name, log: log)
                return EmbeddingJudge(encoder: try TextEncoders.load(files), tokenizer: try files.loadTokenizer(), name: name)
            } catch {
                throw JudgeConfigurationError("\(error)")
            }
        case .local:
            let name = model ?? "smollm2-135m-instruct"
            do {
                let opened = try PretrainedModel.languageModel(name, adapter: adapter, log: log)
                let backend = LocalChatBackend(
                    model: opened.model, tokenizer: opened.tokenizer, template: opened.template,
                    name: adapter.map { "\(name)+\($0)" } ?? name)
                return LLMRubricJudge(backend: backend, prompt: try prompt(), maxTokens: maxTokens)
            } catch {
                throw JudgeConfigurationError("\(error)")
            }
        case .openai:
            guard let model else { throw JudgeConfigurationError("the openai judge needs a model name (--judge-model / judge.model)") }
            var settings = OpenAIChatBackend.Settings(baseURLs: urls.isEmpty ? ["http://127.0.0.1:8000/v1"] : urls, model: model)
            settings.apiKeyVariable = apiKeyVariable
            settings.concurrency = concurrency
            settings.timeout = timeout
            settings.maxAttempts = attempts
            return LLMRubricJudge(backend: try OpenAIChatBackend(settings: settings), prompt: try prompt(), maxTokens: maxTokens)
        }
    }

    private func prompt() throws(JudgeConfigurationError) -> JudgePrompt {
        try promptFile.map { (path) throws(JudgeConfigurationError) in try JudgePrompt.load(path) } ?? .standard
    }
}
