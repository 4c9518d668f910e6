/// One line of reference-answers.jsonl: the frozen reference policy's intent-free answer to
/// a question and its judge score (computed once per question, reused on resume).
public struct ReferenceAnswer: Codable, Sendable, Equatable {
    public var id: String
    public var text: String
    public var score: Double

    public init(id: String, text: String, score: Double) {
        self.id = id
        self.text = text
        self.score = score
    }
}
