/// The body of `POST /v1/chat/completions` as OpenAI's API defines it (the fields we use or
/// honour; others are ignored when decoding). Values are checked by the server, not here.
public struct ChatCompletionRequestBody: Codable, Sendable, Equatable {
    public var model: String?
    public var messages: [WireMessage]
    public var temperature: Double?
    public var topP: Double?
    /// A number so that `2.0` reaches the server's check ("n must be an integer").
    public var n: Double?
    public var maxTokens: Double?
    public var maxCompletionTokens: Double?
    public var seed: Double?
    public var stop: StopSequences?
    public var stream: Bool?

    public init(
        model: String?, messages: [WireMessage], temperature: Double? = nil, topP: Double? = nil, n: Int? = nil, maxTokens: Int? = nil,
        seed: Int? = nil, stop: [String]? = nil, stream: Bool? = nil
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.n = n.map(Double.init)
        self.maxTokens = maxTokens.map(Double.init)
        self.seed = seed.map(Double.init)
        self.stop = stop.map(StopSequences.several)
        self.stream = stream
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, n, seed, stop, stream
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
    }
}

/// One chat message; `content` is text or a list of text parts.
public struct WireMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: MessageContent

    public init(role: String, content: String) {
        self.role = role
        self.content = .text(content)
    }
}

/// `"text"` or `[{"type": "text", "text": "…"}, …]`.
public enum MessageContent: Codable, Sendable, Equatable {
    case text(String)
    case parts([ContentPart])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .parts(try container.decode([ContentPart].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .parts(let parts): try container.encode(parts)
        }
    }
}

public struct ContentPart: Codable, Sendable, Equatable {
    public var type: String
    public var text: String?
}

/// `stop`: one string or a list of strings.
public enum StopSequences: Codable, Sendable, Equatable {
    case one(String)
    case several([String])

    public var list: [String] {
        switch self {
        case .one(let s): [s]
        case .several(let items): items
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            self = .one(one)
        } else {
            self = .several(try container.decode([String].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let s): try container.encode(s)
        case .several(let items): try container.encode(items)
        }
    }
}
