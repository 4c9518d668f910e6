/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
public struct APIErrorBody: Codable, Sendable, Equatable {
    public var error: Detail

    public init(message: String, type: String, parameter: String?) {
        error = Detail(message: message, type: type, param: parameter, code: nil)
    }

    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String?
        public var param: String?
        public var code: String?

        enum CodingKeys: String, CodingKey {
            case message, type, param, code
        }

        public init(message: String, type: String?, param: String?, code: String?) {
            self.message = message
            self.type = type
            self.param = param
            self.code = code
        }

        /// Lenient: servers differ (vLLM sends an integer `code`); only `message` is needed.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            message = try c.decode(String.self, forKey: .message)
            type = try? c.decodeIfPresent(String.self, forKey: .type)
            param = try? c.decodeIfPresent(String.self, forKey: .param)
            if let text = try? c.decodeIfPresent(String.self, forKey: .code) {
                code = text
            } else if let number = try? c.decodeIfPresent(Int.self, forKey: .code) {
                code = String(number)
            } else {
                code = nil
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
    }
}

/// `GET /v1/models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var object = "list"
    public var data: [Entry]

    public init(names: [String]) { data = names.map { Entry(id: $0) } }

    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var object = "model"
        public var created = 0
        public var ownedBy = "iap"

        public init(id: String) { self.id = id }

        enum CodingKeys: String, CodingKey {
            case id, object, created
            case ownedBy = "owned_by"
        }
    }
}
