/// One judge call: a response scored on one rubric aspect of one question.
public struct JudgeItem: Sendable, Hashable {
    public var questionId: String
    public var question: String
    /// The asker's narrative ("details" in the judge prompt).
    public var details: String
    public var response: String
    public var aspectIndex: Int
    public var aspect: RubricAspect

    public init(questionId: String, question: String, details: String, response: String, aspectIndex: Int, aspect: RubricAspect) {
        self.questionId = questionId
        self.question = question
        self.details = details
        self.response = response
        self.aspectIndex = aspectIndex
        self.aspect = aspect
    }

    public static func == (a: JudgeItem, b: JudgeItem) -> Bool {
        a.questionId == b.questionId && a.aspectIndex == b.aspectIndex && a.response == b.response
    }
    public func hash(into h: inout Hasher) {
        h.combine(questionId)
        h.combine(aspectIndex)
        h.combine(response)
    }
}

/// What one judge call gave.
public enum JudgeVerdict: Sendable, Equatable {
    /// A score in 0…2.
    case score(Int)
    /// The judge answered, but not with a usable score (asked again in the next round).
    case unparsable(String)
    /// The call itself failed (network, server error after retries, model error).
    case failed(String)
}

/// Scores responses on rubric aspects. Implementations: an LLM behind an OpenAI-compatible
/// server or in process (`LLMRubricJudge`), and the embedding proxy (`EmbeddingJudge`).
public protocol RubricJudge: Sendable {
    /// Who judges, precisely enough to key a cache (backend, model, settings).
    var identity: String { get }
    /// Fingerprint of the prompt wording ("" for judges without a prompt).
    var promptVersion: String { get }
    /// True for judges that only approximate the LLM judge (said plainly in outputs).
    var isProxy: Bool { get }
    /// One verdict per item, in order. `temperature` rises with each retry round.
    func judge(_ items: [JudgeItem], temperature: Double) async -> [JudgeVerdict]
    /// Requests sent so far, for judges behind a server (nil for in-process judges).
    func requestCounts() async -> JudgeRequestCounts?
    /// How the evaluator should hand items over: in batches (in-process models batch their
    /// forward passes) or one item per call, many at once (a server: each verdict is then
    /// cached the moment it arrives, and a slow request holds up no others).
    var batching: JudgeBatching { get }
}

extension RubricJudge {
    public func requestCounts() async -> JudgeRequestCounts? { nil }
    public var batching: JudgeBatching { JudgeBatching(itemsPerCall: 64, callsInFlight: 4) }
}

public struct JudgeBatching: Sendable, Equatable {
    public var itemsPerCall: Int
    public var callsInFlight: Int
    public init(itemsPerCall: Int, callsInFlight: Int) {
        self.itemsPerCall = itemsPerCall
        self.callsInFlight = callsInFlight
    }
}

/// What a judge backend sent: every HTTP request (retries included), the retries, and
/// those that got no reply at all.
public struct JudgeRequestCounts: Sendable, Equatable {
    public var requests: Int
    public var retries: Int
    public var unanswered: Int
    public init(requests: Int, retries: Int, unanswered: Int) {
        self.requests = requests
        self.retries = retries
        self.unanswered = unanswered
    }
}
