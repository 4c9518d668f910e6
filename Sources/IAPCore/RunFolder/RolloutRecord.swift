/// One line of rollouts.jsonl: a sampled completion, how it parsed, and its reward parts.
public struct RolloutRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var questionId: String
    public var completion: String
    public var valid: Bool
    public var problem: String?
    public var intents: [String]
    public var answer: String?
    public var reward: Double
    public var personalization: Double?
    public var similarity: Double?
    public var contrast: Double
    public var lengthPenalty: Double
    public var advantage: Double
    public var finishReason: String

    public init(
        step: Int, questionId: String, completion: String, valid: Bool, problem: String?, intents: [String], answer: String?,
        reward: Double,
        personalization: Double?, similarity: Double?, contrast: Double, lengthPenalty: Double, advantage: Double, finishReason: String
    ) {
        self.step = step
        self.questionId = questionId
        self.completion = completion
        self.valid = valid
        self.problem = problem
        self.intents = intents
        self.answer = answer
        self.reward = reward
        self.personalization = personalization
        self.similarity = similarity
        self.contrast = contrast
        self.lengthPenalty = lengthPenalty
        self.advantage = advantage
        self.finishReason = finishReason
    }

    enum CodingKeys: String, CodingKey {
        case step, completion, valid, problem, intents, answer, reward, personalization, similarity, contrast, advantage
        case questionId = "question_id"
        case lengthPenalty = "length_penalty"
        case finishReason = "finish_reason"
    }
}
