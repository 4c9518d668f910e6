import LaMPQACore

extension TrainConfig {
    /// `data:` — the training questions and what the policy is shown of them.
    public struct Data: Codable, Sendable, Equatable {
        /// A folder in the benchmark's layout ({Configuration}_{split}.json).
        public var folder = "data/sample"
        public var split = LaMPQASplit.train
        public var domains = LaMPQADomain.allCases
        /// question, narrative, profile:K or narrative+profile:K.
        public var input = PolicyInputMode.questionAndNarrative
        /// At most this many questions per domain.
        public var limit: Int?

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case folder, split, domains, input, limit
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            folder = try read(.folder, d.folder)
            split = try read(.split, d.split)
            domains = try read(.domains, d.domains)
            input = try read(.input, d.input)
            limit = try read(.limit, d.limit)
        }
    }
}
