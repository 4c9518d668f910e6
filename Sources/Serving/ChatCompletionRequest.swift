import JSONFiles
import ModelFormats
import OpenAIWire

/// An OpenAI-shaped error: HTTP status, type, the offending field, a message.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let parameter: String?
    public let message: String
    /// Seconds a client should wait before retrying (the `Retry-After` header of a 503).
    public var retryAfter: Int?

    public init(status: Int = 400, type: String = "invalid_request_error", parameter: String? = nil, _ message: String) {
        self.status = status
        self.type = type
        self.parameter = parameter
        self.message = message
    }

    public var description: String { message }

    /// `{"error": {"message", "type", "param", "code"}}`
    public var body: APIErrorBody { APIErrorBody(message: message, type: type, parameter: parameter) }
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

    public init(messages: [ChatMessage]) { self.messages = messages }

    /// Decodes and checks a request body; errors name the field (`messages[1].role`).
    public static func parse(_ bytes: [UInt8], maxN: Int = 16) throws(APIError) -> ChatCompletionRequest {
        let body: ChatCompletionRequestBody
        do { body = try JSONFile.decode(ChatCompletionRequestBody.self, from: bytes, source: "the request body") } catch {
            let field = error.reason.split(separator: ":").first.map(String.init)
            throw APIError(parameter: field?.contains(" ") == false ? field : nil, "the request body: \(error.reason)")
        }
        return try parse(body, maxN: maxN)
    }

    public static func parse(_ body: ChatCompletionRequestBody, maxN: Int = 16) throws(APIError) -> ChatCompletionRequest {
        guard !body.messages.isEmpty else { throw APIError(parameter: "messages", "messages must be a non-empty array") }
        var request = ChatCompletionRequest(
            messages: try body.messages.enumerated().map { (i, m) throws(APIError) in try message(m, index: i) })
        request.model = body.model
        func number(_ key: String, _ value: Double?, _ range: ClosedRange<Double>, integer: Bool = false) throws(APIError) -> Double? {
            guard let value else { return nil }
            guard range.contains(value) else {
                throw APIError(parameter: key, "\(key) must be a number in \(range.lowerBound)…\(range.upperBound)")
            }
            guard !integer || value.rounded() == value else { throw APIError(parameter: key, "\(key) must be an integer") }
            return value
        }
        if let t = try number("temperature", body.temperature, 0...2) { request.temperature = t }
        if let p = try number("top_p", body.topP, 0...1) { request.topP = p > 0 ? p : 1 }
        if let n = try number("n", body.n, 1...Double(maxN), integer: true) { request.n = Int(n) }
        if let m = try number("max_tokens", body.maxTokens, 1...1_000_000, integer: true) { request.maxTokens = Int(m) }
        if let m = try number("max_completion_tokens", body.maxCompletionTokens, 1...1_000_000, integer: true) {
            request.maxTokens = Int(m)
        }
        if let s = try number("seed", body.seed, -9.2e18...9.2e18) { request.seed = UInt64(bitPattern: Int64(s)) }
        request.stop = body.stop?.list ?? []
        guard request.stop.count <= 8 else { throw APIError(parameter: "stop", "at most 8 stop strings") }
        request.stream = body.stream ?? false
        return request
    }

    static func message(_ m: WireMessage, index i: Int) throws(APIError) -> ChatMessage {
        guard let role = ChatMessage.Role(rawValue: m.role) else {
            throw APIError(parameter: "messages[\(i)].role", "role must be system, user or assistant")
        }
        switch m.content {
        case .text(let text): return ChatMessage(role, text)
        case .parts(let parts):
            var text = ""
            for (k, part) in parts.enumerated() {
                guard part.type == "text", let piece = part.text else {
                    throw APIError(parameter: "messages[\(i)].content[\(k)]", "only text content parts are supported")
                }
                text += piece
            }
            return ChatMessage(role, text)
        }
    }
}
