/// A whole (non-streamed) chat completion.
public struct ChatCompletion: Codable, Sendable, Equatable {
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage?) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }

    public struct Choice: Codable, Sendable, Equatable {
        public var index: Int
        public var message: AssistantMessage
        public var finishReason: String?

        public init(index: Int, message: AssistantMessage, finishReason: String?) {
            self.index = index
            self.message = message
            self.finishReason = finishReason
        }

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }
}

/// The assistant's message. `iap` is our extension: the intents and answer of an IAP
/// rollout, so clients need not parse tags (OpenAI clients ignore unknown fields).
public struct AssistantMessage: Codable, Sendable, Equatable {
    public var role = "assistant"
    public var content: String?
    public var iap: RolloutSummary?

    public init(content: String?, iap: RolloutSummary? = nil) {
        self.content = content
        self.iap = iap
    }
}

/// What an IAP rollout inferred: its intents, its answer, and whether it had the format.
public struct RolloutSummary: Codable, Sendable, Equatable {
    public var intents: [String]
    public var answer: String?
    public var valid: Bool
    public var problem: String?

    public init(intents: [String], answer: String?, valid: Bool, problem: String?) {
        self.intents = intents
        self.answer = answer
        self.valid = valid
        self.problem = problem
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(intents, forKey: .intents)
        try c.encode(answer, forKey: .answer)  // null when there is none
        try c.encode(valid, forKey: .valid)
        try c.encode(problem, forKey: .problem)
    }
}

public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        totalTokens = promptTokens + completionTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}

/// The part of a completion a client needs (servers differ in the rest): the choices'
/// message texts.
public struct ChatCompletionReply: Decodable, Sendable, Equatable {
    public struct Choice: Decodable, Sendable, Equatable {
        public struct Message: Decodable, Sendable, Equatable {
            public var content: String?
        }
        public var message: Message
    }
    public var choices: [Choice]
}
