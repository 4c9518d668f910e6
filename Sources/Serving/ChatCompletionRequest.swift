import ModelFormats
import SafeTensors

/// An OpenAI-shaped error: HTTP status, type, the offending field, a message.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let parameter: String?
    public let message: String

    public init(status: Int = 400, type: String = "invalid_request_error", parameter: String? = nil, _ message: String) {
        self.status = status
        self.type = type
        self.parameter = parameter
        self.message = message
    }

    public var description: String { message }

    /// `{"error": {"message", "type", "param", "code"}}`
    public var body: JSONValue {
        .object([("error", .object([
            ("message", .string(message)), ("type", .string(type)), ("param", parameter.map { .string($0) } ?? .null),
            ("code", .null),
        ]))])
    }
}

/// The fields of `POST /v1/chat/completions` we honour, validated.
public struct ChatCompletionRequest: Sendable {
    public var model: String?
    public var messages: [ChatMessage]
    public var n = 1
    /// 0 means greedy decoding.
    public var temperature = 1.0
    public var topP = 1.0
    public var maxTokens: Int?
    public var stop: [String] = []
    public var seed: UInt64?
    public var stream = false

    public static func parse(_ body: JSONValue, maxN: Int = 16) throws(APIError) -> ChatCompletionRequest {
        guard case .object = body else { throw APIError("the request body must be a JSON object") }
        guard let list = body["messages"]?.arrayValue, !list.isEmpty else {
            throw APIError(parameter: "messages", "messages must be a non-empty array")
        }
        var messages: [ChatMessage] = []
        for (i, m) in list.enumerated() {
            guard let roleName = m["role"]?.stringValue, let role = ChatMessage.Role(rawValue: roleName) else {
                throw APIError(parameter: "messages[\(i)].role", "role must be system, user or assistant")
            }
            let content: String
            switch m["content"] {
            case .some(.string(let s)): content = s
            case .some(.array(let parts)):
                // [{"type": "text", "text": …}, …]
                content = try parts.enumerated().map { (k, part) throws(APIError) -> String in
                    guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                        throw APIError(parameter: "messages[\(i)].content[\(k)]", "only text content parts are supported")
                    }
                    return text
                }.joined()
            default: throw APIError(parameter: "messages[\(i)].content", "content must be a string")
            }
            messages.append(ChatMessage(role, content))
        }
        var request = ChatCompletionRequest(messages: messages)
        request.model = body["model"]?.stringValue
        func number(_ key: String, _ range: ClosedRange<Double>) throws(APIError) -> Double? {
            guard let v = body[key], !v.isNull else { return nil }
            guard let x = v.doubleValue, range.contains(x) else {
                throw APIError(parameter: key, "\(key) must be a number in \(range.lowerBound)…\(range.upperBound)")
            }
            return x
        }
        if let t = try number("temperature", 0...2) { request.temperature = t }
        if let p = try number("top_p", 0...1) { request.topP = p > 0 ? p : 1 }
        if let n = try number("n", 1...Double(maxN)) {
            guard n.rounded() == n else { throw APIError(parameter: "n", "n must be an integer") }
            request.n = Int(n)
        }
        for key in ["max_tokens", "max_completion_tokens"] {
            if let m = try number(key, 1...1_000_000) {
                guard m.rounded() == m else { throw APIError(parameter: key, "\(key) must be an integer") }
                request.maxTokens = Int(m)
            }
        }
        if let s = try number("seed", -9.2e18...9.2e18) { request.seed = UInt64(bitPattern: Int64(s)) }
        switch body["stop"] {
        case nil, .some(.null): break
        case .some(.string(let s)): request.stop = [s]
        case .some(.array(let items)):
            request.stop = try items.map { (item) throws(APIError) -> String in
                guard let s = item.stringValue else { throw APIError(parameter: "stop", "stop must be a string or an array of strings") }
                return s
            }
            guard request.stop.count <= 8 else { throw APIError(parameter: "stop", "at most 8 stop strings") }
        default: throw APIError(parameter: "stop", "stop must be a string or an array of strings")
        }
        switch body["stream"] {
        case nil, .some(.null): break
        case .some(.bool(let b)): request.stream = b
        default: throw APIError(parameter: "stream", "stream must be true or false")
        }
        return request
    }

    public init(messages: [ChatMessage]) { self.messages = messages }
}
