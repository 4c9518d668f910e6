import LaMPQACore

/// The paper's Table 2: a trained model is fixed and only the intent it is given changes —
/// none, a random other question's intents from the same category, a random question's
/// intents from another category, or its own (selected) intents. The category is the
/// record's (StackExchange subcategory) where every record has one, else its domain
/// (`IntentGrouping`). Every condition but "no intent" uses
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
    public func assignments(
        records: [LaMPQARecord], intents: [String: [String]], seed: UInt64, grouping: IntentGrouping? = nil
    ) -> [String: [String]]? {
        switch self {
        case .noIntent: return nil
        case .selected: return Dictionary(uniqueKeysWithValues: records.map { ($0.id, intents[$0.id] ?? []) })
        case .inGroupRandom, .crossGroupRandom:
            let groups = grouping ?? IntentGrouping.choose(records)
            let pool = records.filter { !(intents[$0.id] ?? []).isEmpty }
            var rng = SplitMix64(seed: seed &+ (self == .inGroupRandom ? 1 : 2))
            var out: [String: [String]] = [:]
            for record in records {
                let candidates = pool.filter { c in
                    c.id != record.id && ((groups.key(c) == groups.key(record)) == (self == .inGroupRandom))
                }
                out[record.id] = candidates.isEmpty ? [] : intents[candidates[Int(rng.next() % UInt64(candidates.count))].id] ?? []
            }
            return out
        }
    }
}

/// What "the same category" means in the intent ablation: the records' own category where the
/// data gives every record one (LaMP-QA: the StackExchange subcategory), else the domain.
public enum IntentGrouping: String, Sendable {
    case category, domain

    public static func choose(_ records: [LaMPQARecord]) -> IntentGrouping {
        !records.isEmpty && records.allSatisfy { !$0.category.trimmedWhitespace.isEmpty } ? .category : .domain
    }

    func key(_ record: LaMPQARecord) -> String { self == .category ? record.category.trimmedWhitespace : record.domain.rawValue }

    /// The sentence the ablation's output carries.
    public var note: String {
        switch self {
        case .category: "Random intents are drawn by the records' category (the question's StackExchange subcategory)."
        case .domain: "Random intents are drawn by domain: not every record has a category."
        }
    }
}
