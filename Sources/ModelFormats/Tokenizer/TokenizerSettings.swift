/// The keys of a Hugging Face `tokenizer_config.json` that we read and write (special
/// token names, the chat template, BERT's casing). Other keys are ignored on reading.
public struct TokenizerSettings: Codable, Sendable, Equatable {
    public var tokenizerClass: String?
    public var bosToken: TokenName?
    public var eosToken: TokenName?
    public var padToken: TokenName?
    public var unkToken: TokenName?
    public var sepToken: TokenName?
    public var clsToken: TokenName?
    public var maskToken: TokenName?
    public var doLowerCase: Bool?
    /// DeBERTa-v2's options for a tokenizer built from `spm.model`.
    public var splitByPunct: Bool?
    public var cleanUpTokenizationSpaces: Bool?
    public var modelMaxLength: LengthLimit?
    public var chatTemplate: ChatTemplates?

    public init() {}

    /// `model_max_length`: a number of tokens, or transformers' "no limit" — it writes
    /// int(1e30) (`1000000000000000019884624838656`), read here as a double past any length.
    public enum LengthLimit: Codable, Sendable, Equatable {
        case tokens(Int)
        case unlimited

        /// What transformers writes for "no limit" (VERY_LARGE_INTEGER), as a double.
        static let transformersUnlimited = 1e30

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                self = .tokens(count)
                return
            }
            let number = try container.decode(Double.self)
            guard number >= 1e18 || (number.rounded() == number && number >= 0) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "model_max_length \(number) is not a number of tokens")
            }
            self = number >= 1e18 ? .unlimited : .tokens(Int(number))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .tokens(let count): try container.encode(count)
            case .unlimited: try container.encode(Self.transformersUnlimited)
            }
        }
    }

    /// A special token: its text, or an object `{"content": text, …}` (AddedToken form).
    public struct TokenName: Codable, Sendable, Equatable {
        public var content: String

        public init(_ content: String) { self.content = content }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                content = text
            } else {
                content = try container.decode(Object.self).content
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(content)
        }

        private struct Object: Decodable { var content: String }
    }

    /// `chat_template`: one template, or named templates of which `default` is the chat one.
    public enum ChatTemplates: Codable, Sendable, Equatable {
        case single(String)
        case named([Named])

        public struct Named: Codable, Sendable, Equatable {
            public var name: String
            public var template: String
        }

        /// The template used for chat: the single one, or the one named `default`.
        public var chatTemplate: String? {
            switch self {
            case .single(let text): text
            case .named(let list): list.first { $0.name == "default" }?.template
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .single(text)
            } else {
                self = .named(try container.decode([Named].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .single(let text): try container.encode(text)
            case .named(let list): try container.encode(list)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case tokenizerClass = "tokenizer_class", bosToken = "bos_token", eosToken = "eos_token", padToken = "pad_token"
        case unkToken = "unk_token", sepToken = "sep_token", clsToken = "cls_token", maskToken = "mask_token"
        case splitByPunct = "split_by_punct", doLowerCase = "do_lower_case"
        case cleanUpTokenizationSpaces = "clean_up_tokenization_spaces"
        case modelMaxLength = "model_max_length", chatTemplate = "chat_template"
    }
}

/// `chat_template.json`: the template alone.
struct ChatTemplateJSON: Codable {
    var chatTemplate: String?
    enum CodingKeys: String, CodingKey { case chatTemplate = "chat_template" }
}
