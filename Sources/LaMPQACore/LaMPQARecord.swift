/// One earlier post of the asker.
public struct ProfilePost: Sendable, Equatable {
    public var id: String
    public var category: String
    public var text: String
    public init(id: String, category: String, text: String) {
        self.id = id
        self.category = category
        self.text = text
    }
}

/// What a good answer must address for this asker (the benchmark's rubric).
public struct RubricAspect: Sendable, Hashable {
    /// Short title.
    public var aspect: String
    /// Why it matters to the asker.
    public var reason: String
    /// The narrative span it came from.
    public var evidence: String
    public init(aspect: String, reason: String, evidence: String) {
        self.aspect = aspect
        self.reason = reason
        self.evidence = evidence
    }
}

/// One LaMP-QA question with its asker's context.
public struct LaMPQARecord: Sendable, Equatable {
    public var id: String
    public var domain: LaMPQADomain
    /// The post title.
    public var question: String
    /// The post body: the asker's situation and needs (the benchmark shows it only to the judge).
    public var narrative: String
    /// StackExchange subcategory.
    public var category: String
    public var profile: [ProfilePost]
    public var aspects: [RubricAspect]

    public init(
        id: String, domain: LaMPQADomain, question: String, narrative: String, category: String, profile: [ProfilePost],
        aspects: [RubricAspect]
    ) {
        self.id = id
        self.domain = domain
        self.question = question
        self.narrative = narrative
        self.category = category
        self.profile = profile
        self.aspects = aspects
    }
}
