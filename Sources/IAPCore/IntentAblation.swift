import LaMPQACore

/// The paper's Table 2: a trained model is fixed and only the intent it is given changes —
/// none, a random other question's intents from the same domain, a random question's intents
/// from another domain, or its own (selected) intents. Every condition but "no intent" uses
/// the explicit-intent prompt; "no intent" uses the same instruction without the list.
public enum IntentCondition: String, CaseIterable, Sendable {
    case noIntent = "no-intent"
    case inGroupRandom = "in-group-random"
    case crossGroupRandom = "cross-group-random"
    case selected = "selected"

    public var title: String {
        switch self {
        case .noIntent: "No intent"
        case .inGroupRandom: "In-group random intent"
        case .crossGroupRandom: "Cross-group random intent"
        case .selected: "Selected intent"
        }
    }

    /// The instruction of the explicit-intent prompt without the intents.
    public static let noIntentPrompt = RolloutPrompt(
        system: """
            Answer the question for this particular person. Think step by step, then write your final answer after a line \
            that says "Final answer:".
            """,
        user: "{input}")

    /// The intents each question is given under this condition (nil: the no-intent prompt).
    /// Random draws come only from questions that have at least one intent, never the question
    /// itself, and are fixed by `seed`; a question with no candidate gets an empty list.
    public func assignments(records: [LaMPQARecord], intents: [String: [String]], seed: UInt64) -> [String: [String]]? {
        switch self {
        case .noIntent: return nil
        case .selected: return Dictionary(uniqueKeysWithValues: records.map { ($0.id, intents[$0.id] ?? []) })
        case .inGroupRandom, .crossGroupRandom:
            let pool = records.filter { !(intents[$0.id] ?? []).isEmpty }
            var rng = SplitMix64(seed: seed &+ (self == .inGroupRandom ? 1 : 2))
            var out: [String: [String]] = [:]
            for record in records {
                let candidates = pool.filter { c in
                    c.id != record.id && (self == .inGroupRandom ? c.domain == record.domain : c.domain != record.domain)
                }
                out[record.id] = candidates.isEmpty ? [] : intents[candidates[Int(rng.next() % UInt64(candidates.count))].id] ?? []
            }
            return out
        }
    }
}
