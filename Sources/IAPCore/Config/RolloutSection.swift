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
        /// Budget of the reference policy's intent-free answers; unset: `max_new_tokens`, the
        /// rollouts' budget (the paper gives every generation the same 2,048 tokens).
        public var referenceMaxNewTokens: Int?

        /// How the reference policy's intent-free answers ȳ are drawn: `sampled` — a fresh draw
        /// per question in every step at the rollouts' temperature and top-p (Algorithm 1 of
        /// the paper; seeded, so a resumed run draws the same); `cached_greedy` — one greedy
        /// answer per question, kept in the run folder and reused (cheaper; the demo's).
        public var referenceAnswers = ReferenceAnswerMode.cachedGreedy

        /// The reference answers' budget in effect.
        public var referenceBudget: Int { referenceMaxNewTokens ?? maxNewTokens }
        /// Text the reply starts with (e.g. `<think>`), part of the prompt, not learned.
        public var prefill = ""
        /// `tags`: the sampler writes the four blocks' tags (scaffolded rollouts), the model the contents.
        public var scaffold = ScaffoldMode.none
        /// Under the `tags` scaffold: the tokens the model may sample in each block (think,
        /// intent, think, answer) before the sampler closes it.
        public var blockBudgets = [256, 256, 256, 1024]
        /// The most sequences the policy decodes at once (unset: a round's questions × G all
        /// at once); questions beyond it wait for rows (`batching`).
        public var maxBatchRows: Int?
        /// With `max_batch_rows`: `continuous` starts a waiting question as soon as G rows are
        /// free, `static` only when the whole batch has finished.
        public var batching = RolloutBatching.continuous
        /// Judge a question's rollouts as soon as its group finishes, while the others still
        /// generate (off: after the whole round, as before).
        public var overlapJudging = true

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case groupSize = "group_size"
            case questionsPerStep = "questions_per_step"
            case temperature
            case topP = "top_p"
            case maxNewTokens = "max_new_tokens"
            case promptFile = "prompt_file"
            case referenceMaxNewTokens = "reference_max_new_tokens"
            case referenceAnswers = "reference_answers"
            case prefill
            case scaffold
            case blockBudgets = "block_budgets"
            case maxBatchRows = "max_batch_rows"
            case batching
            case overlapJudging = "overlap_judging"
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
            referenceAnswers = try read(.referenceAnswers, d.referenceAnswers)
            prefill = try read(.prefill, d.prefill)
            scaffold = try read(.scaffold, d.scaffold)
            blockBudgets = try read(.blockBudgets, d.blockBudgets)
            maxBatchRows = try read(.maxBatchRows, d.maxBatchRows)
            batching = try read(.batching, d.batching)
            overlapJudging = try read(.overlapJudging, d.overlapJudging)
        }
    }
}

/// `rollout.reference_answers`: a fresh sampled ȳ per question and step (the paper), or one
/// greedy ȳ per question, cached.
public enum ReferenceAnswerMode: String, ConfigChoice {
    case sampled
    case cachedGreedy = "cached_greedy"
}

/// `rollout.batching`: when a question waiting for rows (`rollout.max_batch_rows`) starts.
public enum RolloutBatching: String, ConfigChoice {
    case continuous
    case `static`
}
