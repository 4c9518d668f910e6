import FileIO
import JSONFiles
import LaMPQACore

/// What an IAP model inferred for one question: its intents, whether the reply had the
/// four-block format, and why not.
public struct InferredIntents: Codable, Sendable, Equatable {
    public var intents: [String]
    public var valid: Bool
    public var problem: String?
    /// A block that copies the prompt or repeats a line (files written before it: nil).
    public var degeneration: Degeneration?

    public init(intents: [String], valid: Bool, problem: String?, degeneration: Degeneration? = nil) {
        self.intents = intents
        self.valid = valid
        self.problem = problem
        self.degeneration = degeneration
    }

    /// Intents that count for Figure 4: a copied or repeated list is not the model's intent.
    public var countedIntents: Int { degeneration == nil ? intents.count : 0 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        intents = try c.decode([String].self, forKey: .intents)
        valid = try c.decodeIfPresent(Bool.self, forKey: .valid) ?? true
        problem = try c.decodeIfPresent(String.self, forKey: .problem)
        degeneration = try c.decodeIfPresent(Degeneration.self, forKey: .degeneration)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(intents, forKey: .intents)
        try c.encode(valid, forKey: .valid)
        try c.encode(problem, forKey: .problem)
        try c.encodeIfPresent(degeneration, forKey: .degeneration)
    }

    enum CodingKeys: String, CodingKey { case intents, valid, problem, degeneration }
}

/// The intents an IAP model inferred, written by `iap answer --method iap` next to its
/// responses (`X.intents.json` for `X.json`): `{id: {"intents": [...], "valid": bool,
/// "problem": text|null}}`. Read by explicit-intent answering and the intent analyses.
public enum IntentsFile {
    public static func path(forResponses responses: String) -> String {
        (responses.hasSuffix(".json") ? String(responses.dropLast(5)) : responses) + ".intents.json"
    }

    public static func write(_ entries: [String: InferredIntents], to path: String) throws(JSONFileError) {
        try JSONFile.write(entries, to: path)
    }

    /// id → intents; errors name the file and the entry.
    public static func load(_ path: String) throws(LaMPQADataError) -> [String: [String]] {
        try entries(path).mapValues(\.intents)
    }

    /// id → everything the file says of that reply.
    public static func entries(_ path: String) throws(LaMPQADataError) -> [String: InferredIntents] {
        do { return try JSONFile.read([String: InferredIntents].self, from: path) } catch {
            throw LaMPQADataError(file: path, reason: error.reason)
        }
    }
}
