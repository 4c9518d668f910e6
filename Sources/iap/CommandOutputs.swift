import JSONFiles

/// What `--json` prints, per command (one Codable value each).
enum CommandOutput {
    /// `iap tokenize --json`.
    struct Tokens: Codable {
        var ids: [Int]
        var tokens: [String]?
    }

    /// `iap generate --json`: one line per completion.
    struct Completion: Encodable {
        var sample: Int
        var text: String
        var tokenIds: [Int]
        var logprobs: [Double]
        var finishReason: String

        enum CodingKeys: String, CodingKey {
            case sample, text, logprobs
            case tokenIds = "token_ids"
            case finishReason = "finish_reason"
        }
    }

    /// `iap ask --json`.
    struct Answer: Encodable {
        var intents: [String]
        var answer: String
        var valid: Bool
        var problem: String?
        var completion: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(intents, forKey: .intents)
            try c.encode(answer, forKey: .answer)
            try c.encode(valid, forKey: .valid)
            try c.encode(problem, forKey: .problem)  // null when well-formed
            try c.encode(completion, forKey: .completion)
        }

        enum CodingKeys: String, CodingKey { case intents, answer, valid, problem, completion }
    }

    /// Prints `value` as JSON (one line unless `pretty`).
    static func print<T: Encodable>(_ value: T, pretty: Bool = false) {
        Swift.print((try? JSONFile.encode(value, pretty: pretty)) ?? "{}")
    }
}
