/// What the answering model is shown about a question.
///
/// LaMP-QA's own rule shows the answering model the question only (plus, for its RAG
/// baseline, the user's retrieved past posts); the narrative is for the judge. The IAP paper
/// feeds the policy the question *with its narrative* (§3.1), which this project takes as
/// the default (`questionAndNarrative`) to reproduce the paper — this departs from the
/// benchmark's protocol, and results with it are not comparable to numbers that follow it.
public enum PolicyInputMode: Sendable, Equatable {
    case questionOnly
    case questionAndNarrative
    /// The question, the narrative when `withNarrative`, and the `k` past posts most similar
    /// to the question (ranked by an encoder).
    case withProfile(k: Int, withNarrative: Bool)

    /// `question`, `narrative`, `profile:K`, `narrative+profile:K`.
    public init?(name: String) {
        switch name {
        case "question": self = .questionOnly
        case "narrative", "question+narrative": self = .questionAndNarrative
        default:
            let parts = name.split(separator: ":")
            guard parts.count == 2, let k = Int(parts[1]), k > 0 else { return nil }
            switch parts[0] {
            case "profile": self = .withProfile(k: k, withNarrative: false)
            case "narrative+profile": self = .withProfile(k: k, withNarrative: true)
            default: return nil
            }
        }
    }
}

/// Builds the user-context text for a record. Profile ranking is given as a function (an
/// encoder's similarity), so this stays testable without a model.
public struct PolicyInputBuilder: Sendable {
    public let mode: PolicyInputMode
    /// Orders past posts by relevance to a question: returns indices into `posts`, best first.
    public let rank: @Sendable (_ question: String, _ posts: [String]) throws -> [Int]

    public init(mode: PolicyInputMode, rank: @escaping @Sendable (String, [String]) throws -> [Int] = { _, posts in Array(posts.indices) })
    {
        self.mode = mode
        self.rank = rank
    }

    /// The question and the chosen context, laid out as
    ///
    ///     Question: …
    ///
    ///     About me: <narrative>
    ///
    ///     My earlier posts:
    ///     1. …
    public func render(_ record: LaMPQARecord) throws -> String {
        var text = "Question: \(record.question)"
        let narrative: Bool
        var k = 0
        switch mode {
        case .questionOnly: narrative = false
        case .questionAndNarrative: narrative = true
        case .withProfile(let count, let withNarrative):
            narrative = withNarrative
            k = count
        }
        if narrative && !record.narrative.isEmpty { text += "\n\nAbout me: \(record.narrative)" }
        if k > 0 && !record.profile.isEmpty {
            let posts = record.profile.map(\.text)
            let order = try rank(record.question, posts).filter { posts.indices.contains($0) }.prefix(k)
            text += "\n\nMy earlier posts:"
            for (n, i) in order.enumerated() { text += "\n\(n + 1). \(posts[i])" }
        }
        return text
    }
}

extension PolicyInputMode: Codable {
    /// The spelling `init(name:)` reads.
    public var name: String {
        switch self {
        case .questionOnly: "question"
        case .questionAndNarrative: "narrative"
        case .withProfile(let k, let withNarrative): withNarrative ? "narrative+profile:\(k)" : "profile:\(k)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let mode = PolicyInputMode(name: text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "'\(text)' is not question, narrative, profile:K or narrative+profile:K"))
        }
        self = mode
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
