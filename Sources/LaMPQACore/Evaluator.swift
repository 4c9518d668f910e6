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
    public var domainScores: [LaMPQADomain: Double]
    public var macro: Double?
    public var judgeIdentity: String
    public var judgeIsProxy: Bool
    public var promptVersion: String
    /// Judge items sent (all rounds).
    public var calls: Int
    public var cacheHits: Int
    /// Items asked again after an unusable or failed answer.
    public var retries: Int
    /// Items still without a score after the retry budget (scored 0): question id, aspect, last problem.
    public var failed: [(id: String, aspect: String, problem: String)]
    /// Questions in the data without a response (not scored, listed here).
    public var missingResponses: [String]
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

    public init(judge: RubricJudge, cache: JudgeCache?) {
        self.judge = judge
        self.cache = cache
    }

    /// `responses`: question id → answer text. Questions of `records` without a response
    /// are reported in `missingResponses`, not scored. Cancelling the task stops between
    /// judge calls (verdicts so far are cached) and throws `CancellationError`.
    public func evaluate(
        records: [LaMPQARecord], responses: [String: String], progress: (@Sendable (EvaluationProgress) -> Void)? = nil
    ) async throws -> EvaluationReport {
        var items: [JudgeItem] = []
        var missing: [String] = []
        for record in records {
            guard let response = responses[record.id] else {
                missing.append(record.id)
                continue
            }
            for (k, aspect) in record.aspects.enumerated() {
                items.append(JudgeItem(questionId: record.id, question: record.question, details: record.narrative,
                                       response: response, aspectIndex: k, aspect: aspect))
            }
        }
        var scores = [Int?](repeating: nil, count: items.count)
        var problems = [String](repeating: "", count: items.count)
        var pending: [Int] = []
        var hits = 0
        for (i, item) in items.enumerated() {
            if let cache, let cached = await cache.lookup(JudgeCache.key(judge: judge, item: item)) {
                scores[i] = cached
                hits += 1
            } else {
                pending.append(i)
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        var calls = 0
        var retries = 0
        var judged = 0
        for round in 0...max(0, retryRounds) where !pending.isEmpty {
            if round > 0 { retries += pending.count }
            let temperature = min(1.0, 0.1 * Double(round))
            let chunks = stride(from: 0, to: pending.count, by: max(1, batchSize)).map {
                Array(pending[$0..<min($0 + max(1, batchSize), pending.count)])
            }
            var next: [Int] = []
            var chunkIterator = chunks.makeIterator()
            try await withThrowingTaskGroup(of: ([Int], [JudgeVerdict]).self) { group in
                func submit() -> Bool {
                    guard let chunk = chunkIterator.next() else { return false }
                    let batch = chunk.map { items[$0] }
                    group.addTask { [judge] in
                        try Task.checkCancellation()
                        return (chunk, await judge.judge(batch, temperature: temperature))
                    }
                    return true
                }
                for _ in 0..<max(1, parallelCalls) where submit() {}
                while let (chunk, verdicts) = try await group.next() {
                    calls += chunk.count
                    for (i, verdict) in zip(chunk, verdicts) {
                        switch verdict {
                        case .score(let s):
                            scores[i] = s
                            judged += 1
                            if let cache { await cache.store(JudgeCache.key(judge: judge, item: items[i]), score: s) }
                        case .unparsable(let text):
                            problems[i] = "unusable answer: \(text.prefix(120))"
                            next.append(i)
                        case .failed(let reason):
                            problems[i] = reason
                            next.append(i)
                        }
                    }
                    let elapsed = clock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    progress?(EvaluationProgress(
                        done: scores.lazy.filter { $0 != nil }.count, total: items.count, round: round, secondsElapsed: seconds,
                        rate: seconds > 0 ? Double(judged) / seconds : 0))
                    if Task.isCancelled { group.cancelAll() } else { _ = submit() }
                }
            }
            try Task.checkCancellation()
            pending = next.sorted()
        }
        var failed: [(id: String, aspect: String, problem: String)] = []
        var byQuestion: [String: [(Int, Int)]] = [:]
        for (i, item) in items.enumerated() {
            let s = scores[i] ?? 0
            if scores[i] == nil { failed.append((item.questionId, item.aspect.aspect, problems[i])) }
            byQuestion[item.questionId, default: []].append((item.aspectIndex, s))
        }
        var questions: [QuestionScore] = []
        for record in records where responses[record.id] != nil {
            let aspectScores = (byQuestion[record.id] ?? []).sorted { $0.0 < $1.0 }.map { (record.aspects[$0.0].aspect, $0.1) }
            let failures = failed.filter { $0.id == record.id }.count
            questions.append(QuestionScore(id: record.id, domain: record.domain, aspects: aspectScores, failedAspects: failures))
        }
        let domains = RubricScores.domainScores(questions)
        return EvaluationReport(
            questions: questions, domainScores: domains, macro: RubricScores.macro(domains), judgeIdentity: judge.identity,
            judgeIsProxy: judge.isProxy, promptVersion: judge.promptVersion, calls: calls, cacheHits: hits, retries: retries,
            failed: failed, missingResponses: missing)
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
        let byId = Dictionary(uniqueKeysWithValues: report.questions.map { ($0.id, $0.score) })
        return records.map { byId[$0.id] ?? 0 }
    }
}
