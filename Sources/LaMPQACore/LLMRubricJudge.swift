import ModelFormats

/// A chat model reachable for judging: an OpenAI-compatible server, or a model in process.
public protocol ChatBackend: Sendable {
    /// Backend and model, for the judge's identity.
    var identity: String { get }
    /// One reply per conversation, in order; a failed call is a `.failure` with a reason.
    func complete(_ conversations: [[ChatMessage]], temperature: Double, topP: Double, maxTokens: Int) async
        -> [Result<String, JudgeCallError>]
    /// Requests sent so far (nil for backends that are not behind a server).
    func requestCounts() async -> JudgeRequestCounts?
    /// Conversations per call and calls at once that suit the backend.
    var batching: JudgeBatching { get }
}

extension ChatBackend {
    public func requestCounts() async -> JudgeRequestCounts? { nil }
    public var batching: JudgeBatching { JudgeBatching(itemsPerCall: 64, callsInFlight: 4) }
}

/// Why a judge call produced no reply.
public struct JudgeCallError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The LaMP-QA rubric judge over any chat backend: one conversation per item built from
/// the prompt, the reply parsed by `JudgeResponseParser`.
public struct LLMRubricJudge: RubricJudge {
    public let backend: ChatBackend
    public let prompt: JudgePrompt
    public let topP: Double
    public let maxTokens: Int

    public init(backend: ChatBackend, prompt: JudgePrompt = .standard, topP: Double = 0.95, maxTokens: Int = 4096) {
        self.backend = backend
        self.prompt = prompt
        self.topP = topP
        self.maxTokens = maxTokens
    }

    public var identity: String { "llm:\(backend.identity):top_p=\(topP)" }
    public var promptVersion: String { prompt.version }
    public var isProxy: Bool { false }

    public func requestCounts() async -> JudgeRequestCounts? { await backend.requestCounts() }
    public var batching: JudgeBatching { backend.batching }

    public func judge(_ items: [JudgeItem], temperature: Double) async -> [JudgeVerdict] {
        let conversations = items.map { item -> [ChatMessage] in
            let m = prompt.messages(for: item)
            return [ChatMessage(.system, m.system), ChatMessage(.user, m.user)]
        }
        let replies = await backend.complete(conversations, temperature: temperature, topP: topP, maxTokens: maxTokens)
        return replies.map { reply in
            switch reply {
            case .success(let text): JudgeResponseParser.score(text).map { .score($0) } ?? .unparsable(text)
            case .failure(let error): .failed(error.message)
            }
        }
    }
}
