import ArgumentParser
import CommandSupport
import LaMPQA
import ModelFormats
import Transformers
import LaMPQACore

/// Builds the rubric judge the CLI's options describe (shared by evaluate and train).
enum JudgeFactory {
    struct Options {
        var backend: String
        var model: String?
        /// A LoRA adapter on the local judge's model.
        var adapter: String? = nil
        var urls: [String]
        var apiKeyVariable: String?
        var concurrency: Int
        var timeout: Double
        var maxTokens: Int
        var promptFile: String?
        var attempts = 6
    }

    static func make(_ o: Options) throws -> RubricJudge {
        switch o.backend {
        case "embedding":
            let name = o.model ?? "all-minilm-l6-v2"
            let files = try CLI.openModel(name)
            let tokenizer = try CLI.loadTokenizer(files)
            do { return EmbeddingJudge(encoder: try TextEncoders.load(files), tokenizer: tokenizer, name: name) } catch {
                throw CLI.failure(error)
            }
        case "local":
            let name = o.model ?? "smollm2-135m-instruct"
            let (_, tokenizer, model, template) = try CLI.openLanguageModel(name, adapter: o.adapter)
            do {
                let backend = LocalChatBackend(
                    model: model, tokenizer: tokenizer, template: template, name: o.adapter.map { "\(name)+\($0)" } ?? name)
                let prompt = try o.promptFile.map { (path) throws(JudgeConfigurationError) in try JudgePrompt.load(path) } ?? .standard
                return LLMRubricJudge(backend: backend, prompt: prompt, maxTokens: o.maxTokens)
            } catch {
                throw CLI.failure("\(error)")
            }
        case "openai":
            guard let name = o.model else { throw CLI.failure("the openai judge needs a model name (--judge-model / judge.model)") }
            var settings = OpenAIChatBackend.Settings(baseURLs: o.urls.isEmpty ? ["http://127.0.0.1:8000/v1"] : o.urls, model: name)
            settings.apiKeyVariable = o.apiKeyVariable
            settings.concurrency = o.concurrency
            settings.timeout = o.timeout
            settings.maxAttempts = o.attempts
            do {
                let prompt = try o.promptFile.map { (path) throws(JudgeConfigurationError) in try JudgePrompt.load(path) } ?? .standard
                return LLMRubricJudge(backend: try OpenAIChatBackend(settings: settings), prompt: prompt, maxTokens: o.maxTokens)
            } catch {
                throw CLI.failure(error)
            }
        default:
            throw CLI.failure("judge backend \(o.backend): use embedding, local or openai")
        }
    }
}
