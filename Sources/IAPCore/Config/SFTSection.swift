extension TrainConfig {
    /// `sft:` — the best-of-N baseline: candidates per question, the prompt they are
    /// written and learned with, and the fine-tuning epochs.
    public struct SFT: Codable, Sendable, Equatable {
        public var samples = 5
        /// direct, non-personalized or implicit-intent.
        public var method = BaselineMethod.direct
        public var temperature = 1.0
        public var topP = 1.0
        public var maxNewTokens = 192
        public var epochs = 2
        public var batchSize = 8

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case samples, method, temperature
            case topP = "top_p"
            case maxNewTokens = "max_new_tokens"
            case epochs
            case batchSize = "batch_size"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            samples = try read(.samples, d.samples)
            method = try read(.method, d.method)
            temperature = try read(.temperature, d.temperature)
            topP = try read(.topP, d.topP)
            maxNewTokens = try read(.maxNewTokens, d.maxNewTokens)
            epochs = try read(.epochs, d.epochs)
            batchSize = try read(.batchSize, d.batchSize)
        }

        func validate() throws(ConfigError) {
            for (key, value) in [
                ("sft.samples", samples), ("sft.epochs", epochs), ("sft.batch_size", batchSize), ("sft.max_new_tokens", maxNewTokens),
            ]
            where value < 1 {
                throw ConfigError("\(key): at least 1, got \(value)")
            }
            guard method != .explicitIntent else {
                throw ConfigError("sft.method: explicit-intent needs intents; use direct, non-personalized or implicit-intent")
            }
            guard temperature > 0, temperature.isFinite else { throw ConfigError("sft.temperature: above 0, got \(temperature)") }
            guard topP > 0, topP <= 1 else { throw ConfigError("sft.top_p: above 0 and at most 1, got \(topP)") }
        }
    }
}

extension BaselineMethod: ConfigChoice {}
