import FileIO
import JSONFiles

/// An `iap evaluate` output folder: `{Configuration}_{split}.scores.json` per domain (the
/// benchmark's scores format) and `summary.json` (judge, counts, failures, the macro score).
/// An evaluation whose judge calls failed is incomplete: summary.json says so and lists the
/// items, and its scores files are named `….scores.incomplete.json` so that nothing takes
/// them for results (a rerun finishes it from the judge cache and renames them).
public struct EvaluationFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var summaryPath: String { path + "/summary.json" }

    public func scoresPath(_ domain: LaMPQADomain, _ split: LaMPQASplit, complete: Bool = true) -> String {
        "\(path)/\(domain.rawValue)_\(split.rawValue).scores\(complete ? "" : ".incomplete").json"
    }

    /// Scores one responses file against `dataset` and writes the folder: what `iap evaluate`
    /// does for each responses file (and the ablations for each condition).
    public func evaluate(
        _ answers: [String: String], responses: String, dataset: LaMPQADataset, evaluator: Evaluator,
        progress: (@Sendable (EvaluationProgress) -> Void)? = nil
    ) async throws -> EvaluationReport {
        let report = try await evaluator.evaluate(records: dataset.records, responses: answers, progress: progress)
        try write(report, responses: responses, data: dataset.folder, split: dataset.options.split)
        return report
    }

    /// Writes the scores files and summary.json of one evaluation.
    public func write(_ report: EvaluationReport, responses: String, data: String, split: LaMPQASplit) throws(JSONFileError) {
        do { try FileSystem.makeDirectories(path) } catch { throw JSONFileError(path: error.path, reason: error.reason) }
        let scored = Set(report.questions.map(\.domain))
        for domain in LaMPQADomain.allCases where scored.contains(domain) {
            let scores = DomainScoresFile(report.questions.filter { $0.domain == domain })
            try JSONFile.write(scores, to: scoresPath(domain, split, complete: report.isComplete))
            // The other kind, from an earlier run, would contradict this one.
            FileSystem.removeFile(scoresPath(domain, split, complete: !report.isComplete))
        }
        try JSONFile.write(EvaluationSummary(report, responses: responses, data: data, split: split), to: summaryPath)
    }

    public func summary() throws(JSONFileError) -> EvaluationSummary { try JSONFile.read(from: summaryPath) }

    /// Per-question scores of every domain scored here (any split), named `name` (default:
    /// the folder's name). An incomplete evaluation is refused unless `allowIncomplete`.
    public func methodResult(name: String? = nil, allowIncomplete: Bool = false) throws(LaMPQADataError) -> MethodResult {
        var incomplete = false
        if FileSystem.exists(summaryPath) {
            // Only the completeness fields: summaries written by other tools may hold less.
            let summary: Completeness
            do { summary = try JSONFile.read(from: summaryPath) } catch { throw LaMPQADataError(file: error.path, reason: error.reason) }
            incomplete = !(summary.complete ?? true)
            if incomplete && !allowIncomplete {
                let items = summary.incompleteItems ?? []
                let first = items.first.map { ": \($0.problem)" } ?? ""
                throw LaMPQADataError(
                    file: summaryPath,
                    reason:
                        "an incomplete evaluation (\(items.count) judge calls failed\(first)); rerun iap evaluate to finish it, or pass --allow-incomplete"
                )
            }
        }
        var scores: [LaMPQADomain: [String: Double]] = [:]
        for domain in LaMPQADomain.allCases {
            for split in LaMPQASplit.allCases {
                let candidates = [scoresPath(domain, split)] + (allowIncomplete ? [scoresPath(domain, split, complete: false)] : [])
                guard let scoresFile = candidates.first(where: FileSystem.exists) else { continue }
                let file: DomainScoresFile
                do { file = try JSONFile.read(from: scoresFile) } catch {
                    throw LaMPQADataError(file: error.path, reason: error.reason)
                }
                // An incomplete file's unjudged questions (score null) have no score to compare.
                let judged = file.perQuestionScores.compactMap { q in q.score.map { (q.id, $0) } }
                scores[domain] = Dictionary(judged, uniquingKeysWith: { a, _ in a })
            }
        }
        guard !scores.isEmpty else {
            throw LaMPQADataError(file: path, reason: "no *.scores.json files (an iap evaluate output folder is expected)")
        }
        let label = name ?? (path.split(separator: "/").last.map(String.init) ?? path)
        return MethodResult(name: incomplete ? label + " (incomplete)" : label, scores: scores)
    }
}

/// The part of summary.json that says whether the evaluation finished.
struct Completeness: Decodable {
    var complete: Bool?
    var incompleteItems: [EvaluationSummary.FailedItem]?
    enum CodingKeys: String, CodingKey { case complete, incompleteItems = "incomplete_items" }
}

/// The benchmark's scores file for one domain.
public struct DomainScoresFile: Codable, Sendable, Equatable {
    public struct Question: Codable, Sendable, Equatable {
        public var id: String
        /// Null in an incomplete evaluation's file for a question with an aspect never judged.
        public var score: Double?
        public var details: [Aspect]
        public init(id: String, score: Double?, details: [Aspect]) {
            self.id = id
            self.score = score
            self.details = details
        }

        /// `details` may be absent (files written by other tools carry only id and score).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            score = try c.decodeIfPresent(Double.self, forKey: .score)
            details = try c.decodeIfPresent([Aspect].self, forKey: .details) ?? []
        }

        /// `score` is written as null, not left out, when there is none.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(score, forKey: .score)
            try c.encode(details, forKey: .details)
        }

        enum CodingKeys: String, CodingKey { case id, score, details }
    }
    public struct Aspect: Codable, Sendable, Equatable {
        public var aspect: String
        public var score: Int
        public init(aspect: String, score: Int) {
            self.aspect = aspect
            self.score = score
        }
    }

    /// Mean question score; null when a question was never judged.
    public var score: Double?
    public var perQuestionScores: [Question]

    public init(_ questions: [QuestionScore]) {
        let judged = questions.allSatisfy(\.isJudged)
        score = !judged ? nil : questions.isEmpty ? 0 : questions.reduce(0) { $0 + $1.score } / Double(questions.count)
        perQuestionScores = questions.map { q in
            Question(id: q.id, score: q.judgedScore, details: q.aspects.map { Aspect(aspect: $0.aspect, score: $0.score) })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(score, forKey: .score)
        try c.encode(perQuestionScores, forKey: .perQuestionScores)
    }

    enum CodingKeys: String, CodingKey {
        case score
        case perQuestionScores = "per_question_scores"
    }

    /// Only `per_question_scores` is needed (the mean follows from it).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        perQuestionScores = try c.decode([Question].self, forKey: .perQuestionScores)
        let scores = perQuestionScores.compactMap(\.score)
        let mean = scores.count < perQuestionScores.count ? nil : scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
        score = try c.decodeIfPresent(Double.self, forKey: .score) ?? mean
    }
}

/// summary.json of an evaluation.
public struct EvaluationSummary: Codable, Sendable, Equatable {
    public struct FailedItem: Codable, Sendable, Equatable {
        public var id: String
        public var aspect: String
        public var problem: String
    }

    /// The responses file scored, the data folder and split.
    public var responses: String
    public var data: String
    public var split: String
    public var judge: String
    public var judgeIsProxy: Bool
    public var promptVersion: String
    /// Domain (configuration name) → mean score; null for a domain with a question never
    /// judged (listed in `incompleteDomains`; there is then no macro average either).
    public var domains: [String: Double?]
    public var incompleteDomains: [String]
    public var macro: Double?
    public var questions: Int
    public var judgeCalls: Int
    public var cacheHits: Int
    public var retries: Int
    public var failedItems: [FailedItem]
    public var missingResponses: [String]
    /// False when judge calls failed: the scores are not results (files written before this
    /// field existed were complete).
    public var complete: Bool
    /// The items whose judge call failed, with the last problem.
    public var incompleteItems: [FailedItem]
    /// Judge requests that got no reply.
    public var unansweredRequests: Int

    public init(_ report: EvaluationReport, responses: String, data: String, split: LaMPQASplit) {
        self.responses = responses
        self.data = data
        self.split = split.rawValue
        judge = report.judgeIdentity
        judgeIsProxy = report.judgeIsProxy
        promptVersion = report.promptVersion
        var domains: [String: Double?] = Dictionary(
            report.domainScores.map { ($0.key.rawValue, $0.value) }, uniquingKeysWith: { a, _ in a })
        for open in report.incompleteDomains { domains[open.rawValue] = .some(nil) }
        self.domains = domains
        incompleteDomains = report.incompleteDomains.map(\.rawValue)
        macro = report.macro
        questions = report.questions.count
        judgeCalls = report.calls
        cacheHits = report.cacheHits
        retries = report.retries
        failedItems = report.failed.map { FailedItem(id: $0.id, aspect: $0.aspect, problem: $0.problem) }
        missingResponses = report.missingResponses
        complete = report.isComplete
        incompleteItems = report.incomplete.map { FailedItem(id: $0.id, aspect: $0.aspect, problem: $0.problem) }
        unansweredRequests = report.unanswered
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        responses = try c.decode(String.self, forKey: .responses)
        data = try c.decode(String.self, forKey: .data)
        split = try c.decode(String.self, forKey: .split)
        judge = try c.decode(String.self, forKey: .judge)
        judgeIsProxy = try c.decode(Bool.self, forKey: .judgeIsProxy)
        promptVersion = try c.decode(String.self, forKey: .promptVersion)
        domains = try c.decode([String: Double?].self, forKey: .domains)
        incompleteDomains = try c.decodeIfPresent([String].self, forKey: .incompleteDomains) ?? []
        macro = try c.decodeIfPresent(Double.self, forKey: .macro)
        questions = try c.decode(Int.self, forKey: .questions)
        judgeCalls = try c.decode(Int.self, forKey: .judgeCalls)
        cacheHits = try c.decode(Int.self, forKey: .cacheHits)
        retries = try c.decode(Int.self, forKey: .retries)
        failedItems = try c.decode([FailedItem].self, forKey: .failedItems)
        missingResponses = try c.decode([String].self, forKey: .missingResponses)
        complete = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? true
        incompleteItems = try c.decodeIfPresent([FailedItem].self, forKey: .incompleteItems) ?? []
        unansweredRequests = try c.decodeIfPresent(Int.self, forKey: .unansweredRequests) ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case responses, data, split, judge, domains, macro, questions, retries
        case judgeIsProxy = "judge_is_proxy"
        case promptVersion = "prompt_version"
        case judgeCalls = "judge_calls"
        case cacheHits = "cache_hits"
        case failedItems = "failed_items"
        case missingResponses = "missing_responses"
        case complete
        case incompleteItems = "incomplete_items"
        case unansweredRequests = "unanswered_requests"
        case incompleteDomains = "incomplete_domains"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(responses, forKey: .responses)
        try c.encode(data, forKey: .data)
        try c.encode(split, forKey: .split)
        try c.encode(judge, forKey: .judge)
        try c.encode(judgeIsProxy, forKey: .judgeIsProxy)
        try c.encode(promptVersion, forKey: .promptVersion)
        try c.encode(domains, forKey: .domains)
        try c.encode(incompleteDomains, forKey: .incompleteDomains)
        try c.encode(macro, forKey: .macro)  // null when no domain was scored, or one is incomplete
        try c.encode(questions, forKey: .questions)
        try c.encode(judgeCalls, forKey: .judgeCalls)
        try c.encode(cacheHits, forKey: .cacheHits)
        try c.encode(retries, forKey: .retries)
        try c.encode(failedItems, forKey: .failedItems)
        try c.encode(missingResponses, forKey: .missingResponses)
        try c.encode(complete, forKey: .complete)
        try c.encode(incompleteItems, forKey: .incompleteItems)
        try c.encode(unansweredRequests, forKey: .unansweredRequests)
    }
}
