/// One line of silver-labels.jsonl (`iap sft`): the best of a question's candidate answers
/// by judge score, with the token ids it is trained on and every candidate's score.
public struct SilverLabel: Codable, Sendable, Equatable {
    public var id: String
    public var score: Double
    public var response: String
    public var candidateScores: [Double]
    public var promptIds: [Int]
    /// The reply's tokens (EOS included when the reply ended by itself).
    public var replyIds: [Int]

    public init(id: String, score: Double, response: String, candidateScores: [Double], promptIds: [Int], replyIds: [Int]) {
        self.id = id
        self.score = score
        self.response = response
        self.candidateScores = candidateScores
        self.promptIds = promptIds
        self.replyIds = replyIds
    }

    enum CodingKeys: String, CodingKey {
        case id, score, response
        case candidateScores = "candidate_scores"
        case promptIds = "prompt_ids"
        case replyIds = "reply_ids"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        score = try c.decode(Double.self, forKey: .score)
        response = try c.decode(String.self, forKey: .response)
        candidateScores = try c.decodeIfPresent([Double].self, forKey: .candidateScores) ?? []
        promptIds = try c.decode([Int].self, forKey: .promptIds)
        replyIds = try c.decode([Int].self, forKey: .replyIds)
        guard !promptIds.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .promptIds, in: c, debugDescription: "a label needs its prompt's token ids")
        }
    }
}
