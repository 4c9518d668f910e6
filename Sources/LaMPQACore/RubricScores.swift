/// LaMP-QA's aggregation: a question scores sum(aspect scores) / (2 × aspects) in [0, 1];
/// a domain scores the mean over its questions; the macro average is the unweighted mean
/// over domains.
public struct QuestionScore: Sendable, Equatable {
    public var id: String
    public var domain: LaMPQADomain
    public var aspects: [(aspect: String, score: Int)]
    /// Aspects that failed after the retry budget (scored 0).
    public var failedAspects: Int
    /// Aspects whose judge call itself failed: never judged, so the question has no score.
    public var unjudgedAspects = 0

    public var score: Double {
        aspects.isEmpty ? 0 : Double(aspects.reduce(0) { $0 + $1.score }) / Double(2 * aspects.count)
    }

    /// Every aspect was judged (an unusable answer counts as judged: the protocol's 0).
    public var isJudged: Bool { unjudgedAspects == 0 }
    /// The score, or nil when some aspect was never judged.
    public var judgedScore: Double? { isJudged ? score : nil }

    public static func == (a: QuestionScore, b: QuestionScore) -> Bool {
        a.id == b.id && a.domain == b.domain && a.failedAspects == b.failedAspects && a.unjudgedAspects == b.unjudgedAspects
            && a.aspects.map(\.aspect) == b.aspects.map(\.aspect) && a.aspects.map(\.score) == b.aspects.map(\.score)
    }

    public init(id: String, domain: LaMPQADomain, aspects: [(aspect: String, score: Int)], failedAspects: Int = 0, unjudgedAspects: Int = 0)
    {
        self.id = id
        self.domain = domain
        self.aspects = aspects
        self.failedAspects = failedAspects
        self.unjudgedAspects = unjudgedAspects
    }
}

public enum RubricScores {
    /// Mean question score per domain (domains without questions are absent).
    public static func domainScores(_ questions: [QuestionScore]) -> [LaMPQADomain: Double] {
        var sums: [LaMPQADomain: (Double, Int)] = [:]
        for q in questions { sums[q.domain, default: (0, 0)].0 += q.score; sums[q.domain, default: (0, 0)].1 += 1 }
        return sums.mapValues { $0.0 / Double($0.1) }
    }

    /// Mean question score of each domain whose questions were all judged; the domains with
    /// a question never judged are `open` (they have no score: an unjudged item is not a 0).
    public static func judgedDomainScores(_ questions: [QuestionScore]) -> (scores: [LaMPQADomain: Double], open: [LaMPQADomain]) {
        let open = Set(questions.filter { !$0.isJudged }.map(\.domain))
        return (domainScores(questions).filter { !open.contains($0.key) }, open.sorted())
    }

    /// Unweighted mean of the domain scores.
    public static func macro(_ domains: [LaMPQADomain: Double]) -> Double? {
        domains.isEmpty ? nil : domains.values.reduce(0, +) / Double(domains.count)
    }
}
