import LaMPQACore

extension TrainConfig {
    /// `judge:` — the rubric judge that scores answers during training.
    public struct Judge: Codable, Sendable, Equatable {
        public var backend = JudgeBackend.embedding
        /// Model name or path (embedding, local) or the served model's name (openai).
        public var model: String?
        /// A LoRA adapter folder on the local judge's model.
        public var adapter: String?
        /// OpenAI-compatible base URLs, balanced round-robin.
        public var urls: [String] = []
        /// Environment variable holding the API key (the key is never written anywhere).
        public var apiKeyEnv: String?
        public var concurrency = 16
        /// Rounds that ask again after an unusable verdict.
        public var retryRounds = 3
        public var maxTokens = 256
        /// A `[system]`/`[user]` judge prompt file instead of the built-in one.
        public var promptFile: String?

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case backend, model, adapter, urls
            case apiKeyEnv = "api_key_env"
            case concurrency
            case retryRounds = "retry_rounds"
            case maxTokens = "max_tokens"
            case promptFile = "prompt_file"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            backend = try read(.backend, d.backend)
            model = try read(.model, d.model)
            adapter = try read(.adapter, d.adapter)
            urls = try read(.urls, d.urls)
            apiKeyEnv = try read(.apiKeyEnv, d.apiKeyEnv)
            concurrency = try read(.concurrency, d.concurrency)
            retryRounds = try read(.retryRounds, d.retryRounds)
            maxTokens = try read(.maxTokens, d.maxTokens)
            promptFile = try read(.promptFile, d.promptFile)
        }
    }
}

extension JudgeBackend: ConfigChoice {}
