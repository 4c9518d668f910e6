import SafeTensors
import FileIO

/// How far an evaluation has got.
public struct EvaluationProgress: Sendable {
    public var done: Int
    public var total: Int
    public var round: Int
    public var secondsElapsed: Double
    /// Judge items per second so far (cache hits excluded).
    public var rate: Double
    public var secondsLeft: Double? { rate > 0 ? Double(total - done) / rate : nil }
}

/// Everything an evaluation produced.
public struct EvaluationReport: Sendable {
    public var questions: [QuestionScore]
    /// Domains whose questions were all judged; a domain with an unjudged item is in
    /// `incompleteDomains` instead, and then there is no macro average.
    public var domainScores: [LaMPQADomain: Double]
    public var incompleteDomains: [LaMPQADomain] = []
    public var macro: Double?
    public var judgeIdentity: String
    public var judgeIsProxy: Bool
    public var promptVersion: String
    /// Requests sent to the judge: HTTP requests when the backend counts them (what the
    /// server received, its retries included), else items judged (all rounds).
    public var calls: Int
    public var cacheHits: Int
    /// Of those, repeats: items asked again after an unusable answer, and the backend's
    /// own retries of failed requests.
    public var retries: Int
    /// Items still without a usable answer after the retry budget (scored 0, as LaMP-QA
    /// does): question id, aspect, last problem.
    public var failed: [(id: String, aspect: String, problem: String)]
    /// Items whose judge call itself failed (server down, refused key, 5xx after the
    /// backend's retries): not scored at all, so the evaluation is incomplete.
    public var incomplete: [(id: String, aspect: String, problem: String)] = []
    /// Requests that got no reply from the judge server (connection refused, reset, timed out).
    public var unanswered = 0

    /// Questions in the data without a response (not scored, listed here).
    public var missingResponses: [String]

    /// Every item has a score or an unusable-answer verdict (the protocol's 0).
    public var isComplete: Bool { incomplete.isEmpty }
}

/// Runs the rubric judge over responses: one item per (question, aspect), cached verdicts
/// reused, unusable answers asked again in rounds at a temperature raised by 0.1 per round
/// (at most 1.0), then aggregated as LaMP-QA does.
public struct Evaluator: Sendable {
    public var judge: RubricJudge
    public var cache: JudgeCache?
    /// Rounds after the first; the benchmark allows 100.
    public var retryRounds = 10
    /// Items per judge call (the backend fans them out or batches them).
    public var batchSize = 64
    /// Judge calls in flight at once.
    public var parallelCalls = 4

    /// Batching as the judge prefers it (`RubricJudge.batching`).
    public init(judge: RubricJudge, cache: JudgeCache?) {
        self.judge = judge
        self.cache = cache
        batchSize = judge.batching.itemsPerCall
        parallelCalls = judge.batching.callsInFlight
    }

    /// `responses`: question id → answer text. Questions of `records` without a response
    /// are reported in `missingResponses`, not scored. Cancelling the task stops between
    /// judge calls (verdicts so far are cached) and throws `CancellationError`.
    public func evaluate(
        records: [LaMPQARecord], responses: [String: String], progress: (@Sendable (EvaluationProgress) -> Void)? = nil
    ) async throws -> EvaluationReport {
        let (items, missing) = Self.items(records: records, responses: responses)
        let countsBefore = await judge.requestCounts()
        var ledger = await cachedVerdicts(items)
        var pending = ledger.unscored
        let start = ContinuousClock.now
        for round in 0...max(0, retryRounds) where !pending.isEmpty {
            if round > 0 { ledger.retries += pending.count }
            (ledger, pending) = try await judgeRound(
                round, pending: pending, items: items, ledger: ledger, start: start, progress: progress)
            try Task.checkCancellation()
        }
        if let before = countsBefore, let after = await judge.requestCounts() {
            // What the server saw, rather than the items this loop handed over.
            ledger.calls = after.requests - before.requests
            ledger.retries += after.retries - before.retries
            ledger.unanswered = after.unanswered - before.unanswered
        }
        return report(records: records, responses: responses, items: items, ledger: ledger, missing: missing)
    }

    /// What the judge said so far, item by item, with the counts the report gives.
    struct Ledger: Sendable {
        var scores: [Int?]
        /// The last problem of each item without a score.
        var problems: [String]
        /// Items whose call failed (not asked again: the backend has retried already).
        var callFailed: Set<Int> = []
        var unanswered = 0
        var calls = 0
        var cacheHits = 0
        var retries = 0
        /// Items scored by the judge (not the cache), for the rate.
        var judged = 0

        var unscored: [Int] { scores.indices.filter { scores[$0] == nil } }
    }

    /// One item per (question, aspect) of the questions that have a response; the ids without one.
    static func items(records: [LaMPQARecord], responses: [String: String]) -> (items: [JudgeItem], missing: [String]) {
        var items: [JudgeItem] = []
        var missing: [String] = []
        for record in records {
            guard let response = responses[record.id] else {
                missing.append(record.id)
                continue
            }
            for (k, aspect) in record.aspects.enumerated() {
                items.append(
                    JudgeItem(
                        questionId: record.id, question: record.question, details: record.narrative,
                        response: response, aspectIndex: k, aspect: aspect))
            }
        }
        return (items, missing)
    }

    /// The verdicts the cache already holds.
    func cachedVerdicts(_ items: [JudgeItem]) async -> Ledger {
        var ledger = Ledger(scores: [Int?](repeating: nil, count: items.count), problems: [String](repeating: "", count: items.count))
        guard let cache else { return ledger }
        for (i, item) in items.enumerated() {
            if let cached = await cache.lookup(JudgeCache.key(judge: judge, item: item)) {
                ledger.scores[i] = cached
                ledger.cacheHits += 1
            }
        }
        return ledger
    }

    /// Sends the `pending` items in chunks, `parallelCalls` at a time, at this round's
    /// temperature; returns the ledger and the items to ask again.
    func judgeRound(
        _ round: Int, pending: [Int], items: [JudgeItem], ledger: Ledger, start: ContinuousClock.Instant,
        progress: (@Sendable (EvaluationProgress) -> Void)?
    ) async throws -> (Ledger, [Int]) {
        var ledger = ledger
        let temperature = min(1.0, 0.1 * Double(round))
        let size = max(1, batchSize)
        var chunks = stride(from: 0, to: pending.count, by: size).map { Array(pending[$0..<min($0 + size, pending.count)]) }.makeIterator()
        var next: [Int] = []
        try await withThrowingTaskGroup(of: ([Int], [JudgeVerdict]).self) { group in
            func submit() -> Bool {
                guard let chunk = chunks.next() else { return false }
                let batch = chunk.map { items[$0] }
                group.addTask { [judge] in
                    try Task.checkCancellation()
                    return (chunk, await judge.judge(batch, temperature: temperature))
                }
                return true
            }
            for _ in 0..<max(1, parallelCalls) where submit() {}
            while let (chunk, verdicts) = try await group.next() {
                ledger.calls += chunk.count
                for (i, verdict) in zip(chunk, verdicts) {
                    switch verdict {
                    case .score(let s):
                        ledger.scores[i] = s
                        ledger.judged += 1
                        if let cache { await cache.store(JudgeCache.key(judge: judge, item: items[i]), score: s) }
                    case .unparsable(let text):
                        ledger.problems[i] = "unusable answer: \(text.prefix(120))"
                        next.append(i)
                    case .failed(let reason):
                        ledger.problems[i] = reason
                        ledger.callFailed.insert(i)
                    }
                }
                progress?(ledger.progress(total: items.count, round: round, since: start))
                if Task.isCancelled { group.cancelAll() } else { _ = submit() }
            }
        }
        return (ledger, next.sorted())
    }

    /// Scores per question and domain as LaMP-QA aggregates them (an item without a score counts 0).
    func report(
        records: [LaMPQARecord], responses: [String: String], items: [JudgeItem], ledger: Ledger, missing: [String]
    ) -> EvaluationReport {
        var failed: [(id: String, aspect: String, problem: String)] = []
        var incomplete: [(id: String, aspect: String, problem: String)] = []
        var byQuestion: [String: [(Int, Int)]] = [:]
        for (i, item) in items.enumerated() where ledger.scores[i] == nil {
            let entry = (item.questionId, item.aspect.aspect, ledger.problems[i])
            if ledger.callFailed.contains(i) { incomplete.append(entry) } else { failed.append(entry) }
        }
        // An aspect whose call failed has no score to show (its question has none either).
        for (i, item) in items.enumerated() where !ledger.callFailed.contains(i) {
            byQuestion[item.questionId, default: []].append((item.aspectIndex, ledger.scores[i] ?? 0))
        }
        var questions: [QuestionScore] = []
        for record in records where responses[record.id] != nil {
            let aspectScores = (byQuestion[record.id] ?? []).sorted { $0.0 < $1.0 }.map { (record.aspects[$0.0].aspect, $0.1) }
            questions.append(
                QuestionScore(
                    id: record.id, domain: record.domain, aspects: aspectScores, failedAspects: failed.filter { $0.id == record.id }.count,
                    unjudgedAspects: incomplete.filter { $0.id == record.id }.count))
        }
        let (domains, open) = RubricScores.judgedDomainScores(questions)
        return EvaluationReport(
            questions: questions, domainScores: domains, incompleteDomains: open, macro: open.isEmpty ? RubricScores.macro(domains) : nil,
            judgeIdentity: judge.identity, judgeIsProxy: judge.isProxy, promptVersion: judge.promptVersion, calls: ledger.calls,
            cacheHits: ledger.cacheHits, retries: ledger.retries, failed: failed, incomplete: incomplete, unanswered: ledger.unanswered,
            missingResponses: missing)
    }
}

extension Evaluator.Ledger {
    func progress(total: Int, round: Int, since start: ContinuousClock.Instant) -> EvaluationProgress {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return EvaluationProgress(
            done: scores.lazy.filter { $0 != nil }.count, total: total, round: round, secondsElapsed: seconds,
            rate: seconds > 0 ? Double(judged) / seconds : 0)
    }
}

extension Evaluator {
    /// Rubric scores of several answers, possibly many to one question (each is judged as
    /// its own item, `id#k`), in order; an answer whose items all failed scores 0.
    public func scores(of answers: [(record: LaMPQARecord, answer: String)]) async throws -> [Double] {
        var records: [LaMPQARecord] = []
        var responses: [String: String] = [:]
        for (k, (record, answer)) in answers.enumerated() {
            var item = record
            item.id = "\(record.id)#\(k)"
            records.append(item)
            responses[item.id] = answer
        }
        let report = try await evaluate(records: records, responses: responses)
        if let first = report.incomplete.first {
            throw EvaluationIncomplete(judge: judge.identity, failedCalls: report.incomplete.count, firstProblem: first.problem)
        }
        let byId = Dictionary(uniqueKeysWithValues: report.questions.map { ($0.id, $0.score) })
        return records.map { byId[$0.id] ?? 0 }
    }
}

/// Judge calls failed (not unusable answers: the calls themselves), so scores would be made up.
public struct EvaluationIncomplete: Error, CustomStringConvertible, Sendable {
    public var judge: String
    public var failedCalls: Int
    public var firstProblem: String
    public var description: String {
        "the judge (\(judge)) could not be reached for \(failedCalls) item(s): \(firstProblem)"
    }
}
