extension TrainConfig {
    /// `rollout:` — how the policy's group of answers per question is sampled.
    public struct Rollout: Codable, Sendable, Equatable {
        /// G: rollouts per question.
        public var groupSize = 5
        public var questionsPerStep = 4
        public var temperature = 1.0
        public var topP = 1.0
        public var maxNewTokens = 192
        /// A `[system]`/`[user]` file with `{input}` instead of the built-in instruction.
        public var promptFile: String?
        /// Budget of the reference policy's intent-free answers.
        public var referenceMaxNewTokens = 160
        /// Text the reply starts with (e.g. `<think>`), part of the prompt, not learned.
        public var prefill = ""

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case groupSize = "group_size"
            case questionsPerStep = "questions_per_step"
            case temperature
            case topP = "top_p"
            case maxNewTokens = "max_new_tokens"
            case promptFile = "prompt_file"
            case referenceMaxNewTokens = "reference_max_new_tokens"
            case prefill
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            groupSize = try read(.groupSize, d.groupSize)
            questionsPerStep = try read(.questionsPerStep, d.questionsPerStep)
            temperature = try read(.temperature, d.temperature)
            topP = try read(.topP, d.topP)
            maxNewTokens = try read(.maxNewTokens, d.maxNewTokens)
            promptFile = try read(.promptFile, d.promptFile)
            referenceMaxNewTokens = try read(.referenceMaxNewTokens, d.referenceMaxNewTokens)
            prefill = try read(.prefill, d.prefill)
        }
    }
}
