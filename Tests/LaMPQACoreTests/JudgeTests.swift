import Foundation
import JSONFiles
import ModelFormats
import Testing

@testable import LaMPQACore

@Suite struct JudgeResponseParserTests {
    /// Real-looking judge outputs and what they must parse to (nil: ask again).
    @Test(
        arguments: [
            ("```json\n{\"match_score\": 2}\n```", 2),
            ("```json\n{\n  \"match_score\": 1\n}\n```\nThe response mentions the budget briefly.", 1),
            ("{\"match_score\": 0}", 0),
            ("Sure! Here is my evaluation:\n```\n{\"match_score\": \"2\"}\n```", 2),
            ("```json\n{\"match_score\": 2.0}\n```", 2),
            ("The aspect is covered. {\"reasoning\": \"uses {braces} in text\", \"match_score\": 1} Done.", 1),
            ("```json\n{\"match_score\": 3}\n```", nil),
            ("```json\n{\"match_score\": -1}\n```", nil),
            ("```json\n{\"match_score\": 1.5}\n```", nil),
            ("```json\n{\"score\": 2}\n```", nil),
            ("I think it deserves a 2.", nil),
            ("match_score: 2", 2),
            ("```json\n{'match_score': 1}\n```", 1),
            ("", nil),
            ("```json\n{\"match_score\": \"high\"}\n```", nil),
        ] as [(String, Int?)])
    func parses(reply: String, expected: Int?) {
        #expect(JudgeResponseParser.score(reply) == expected, "\(reply.debugDescription)")
    }
}

@Suite struct AggregationTests {
    /// Hand-computed: q1 (2+1+0)/6 = 0.5, q2 (2+2)/4 = 1, q3 (0+1)/4 = 0.25;
    /// art = (0.5 + 1)/2 = 0.75, society = 0.25, macro = 0.5.
    @Test func benchmarkAggregation() throws {
        let questions = [
            QuestionScore(id: "q1", domain: .artAndEntertainment, aspects: [("a", 2), ("b", 1), ("c", 0)]),
            QuestionScore(id: "q2", domain: .artAndEntertainment, aspects: [("a", 2), ("b", 2)]),
            QuestionScore(id: "q3", domain: .societyAndCulture, aspects: [("a", 0), ("b", 1)]),
        ]
        #expect(questions.map(\.score) == [0.5, 1, 0.25])
        let domains = RubricScores.domainScores(questions)
        #expect(domains == [.artAndEntertainment: 0.75, .societyAndCulture: 0.25])
        #expect(RubricScores.macro(domains) == 0.5)
        let file = DomainScoresFile(questions.filter { $0.domain == .artAndEntertainment })
        #expect(file.score == 0.75)
        try #require(file.perQuestionScores.count == 2 && file.perQuestionScores[0].details.count == 3)
        #expect(file.perQuestionScores[0].details[1] == DomainScoresFile.Aspect(aspect: "b", score: 1))
        // The benchmark's key names.
        let text = try JSONFile.encode(file)
        #expect(text.contains("\"per_question_scores\"") && text.contains("\"details\""))
    }
}

/// A judge whose answers are scripted per call, counting what it is asked.
final class ScriptedJudge: RubricJudge, @unchecked Sendable {
    let lock = NSLock()
    var temperatures: [Double] = []
    var asked = 0
    let answer: @Sendable (JudgeItem, Int) -> JudgeVerdict
    init(answer: @escaping @Sendable (JudgeItem, Int) -> JudgeVerdict) { self.answer = answer }
    var identity: String { "scripted" }
    var promptVersion: String { "v1" }
    var isProxy: Bool { false }
    func judge(_ items: [JudgeItem], temperature: Double) async -> [JudgeVerdict] {
        let round = lock.withLock { () -> Int in
            temperatures.append(temperature)
            asked += items.count
            return temperatures.count
        }
        return items.map { answer($0, round) }
    }
}

@Suite struct EvaluatorTests {
    func records() -> [LaMPQARecord] {
        [
            LaMPQARecord(
                id: "0_2_0", domain: .artAndEntertainment, question: "Q0", narrative: "N0", category: "music", profile: [],
                aspects: [RubricAspect(aspect: "A", reason: "r", evidence: "e"), RubricAspect(aspect: "B", reason: "r", evidence: "e")]),
            LaMPQARecord(
                id: "2_2_0", domain: .societyAndCulture, question: "Q1", narrative: "N1", category: "law", profile: [],
                aspects: [RubricAspect(aspect: "C", reason: "r", evidence: "e")]),
            LaMPQARecord(
                id: "2_2_1", domain: .societyAndCulture, question: "Q2", narrative: "N2", category: "law", profile: [],
                aspects: [RubricAspect(aspect: "D", reason: "r", evidence: "e")]),
        ]
    }

    /// Unusable answers are asked again at temperature 0.1, 0.2…; items still unusable after
    /// the budget score 0 and are listed; a missing response is listed, not scored.
    @Test func retryRoundsRaiseTemperatureAndFailuresScoreZero() async throws {
        let judge = ScriptedJudge { item, round in
            switch item.aspect.aspect {
            case "A": .score(2)
            case "B": round >= 3 ? .score(1) : .unparsable("no json")  // usable from the third call (round 2) on
            default: .unparsable("garbage")  // never usable
            }
        }
        var evaluator = Evaluator(judge: judge, cache: nil)
        evaluator.retryRounds = 4
        evaluator.parallelCalls = 1
        let report = try await evaluator.evaluate(records: records(), responses: ["0_2_0": "x", "2_2_0": "y"])
        #expect(judge.temperatures == [0, 0.1, 0.2, 0.30000000000000004, 0.4])
        #expect(report.missingResponses == ["2_2_1"])
        #expect(report.questions.map(\.score) == [0.75, 0])
        #expect(report.failed.count == 1 && report.failed[0].id == "2_2_0" && report.failed[0].problem == "unusable answer: garbage")
        #expect(report.isComplete)
        #expect(report.domainScores == [.artAndEntertainment: 0.75, .societyAndCulture: 0])
        #expect(report.retries == 2 + 2 + 1 + 1)  // rounds 1–2 ask B and C again, rounds 3–4 only C
    }

    /// A failed call (not an unusable answer) is not asked again in later rounds and leaves
    /// the evaluation incomplete instead of scoring 0; training's scores refuse it.
    @Test func failedCallsLeaveTheEvaluationIncomplete() async throws {
        let judge = ScriptedJudge { item, _ in item.aspect.aspect == "C" ? .failed("HTTP 503") : .score(2) }
        var evaluator = Evaluator(judge: judge, cache: nil)
        evaluator.parallelCalls = 1
        let report = try await evaluator.evaluate(records: records(), responses: ["0_2_0": "x", "2_2_0": "y"])
        #expect(!report.isComplete && report.failed.isEmpty)
        #expect(report.incomplete.count == 1 && report.incomplete[0].id == "2_2_0" && report.incomplete[0].problem == "HTTP 503")
        #expect(judge.temperatures == [0] && report.retries == 0)
        await #expect(throws: EvaluationIncomplete.self) { try await evaluator.scores(of: [(records()[1], "y")]) }
    }

    /// A finished evaluation rerun makes zero judge calls; a cache file whose last line was
    /// cut by a kill still loads, and the next append starts on a fresh line.
    @Test func cacheMakesRerunsFreeAndSurvivesTruncation() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/verdicts.jsonl"
        let judge = ScriptedJudge { _, _ in .score(1) }
        let responses = ["0_2_0": "x", "2_2_0": "y", "2_2_1": "z"]
        let first = try await Evaluator(judge: judge, cache: try JudgeCache(path: path)).evaluate(records: records(), responses: responses)
        #expect(first.calls == 4 && judge.asked == 4)
        let second = try await Evaluator(judge: judge, cache: try JudgeCache(path: path)).evaluate(records: records(), responses: responses)
        #expect(second.calls == 0 && second.cacheHits == 4 && judge.asked == 4)
        #expect(second.domainScores == first.domainScores)
        // Simulate a kill in the middle of a write.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"k":"abc","s"#.utf8))
        try handle.close()
        let reopened = try JudgeCache(path: path)
        let count = await reopened.count
        let skipped = await reopened.skippedLines
        #expect(count == 4 && skipped == 1)
        await reopened.store("new", score: 2)
        let again = try JudgeCache(path: path)
        let found = await again.lookup("new")
        let total = await again.count
        #expect(found == 2 && total == 5)
        // Another answer text is another key.
        let changed = try await Evaluator(judge: judge, cache: again).evaluate(records: records(), responses: ["0_2_0": "different"])
        #expect(changed.calls == 2)
    }

    @Test func responsesFileRoundTripAndErrors() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ResponsesFile.write([("0_2_0", "hello"), ("1_2_3", "world")], to: folder + "/r.json")
        #expect(try ResponsesFile.load(folder + "/r.json") == ["0_2_0": "hello", "1_2_3": "world"])
        try write(#"{"0_2_0": [{"text": "x"}]}"#, to: folder + "/bad.json")
        #expect { try ResponsesFile.load(folder + "/bad.json") } throws: { "\($0)".contains("0_2_0[0].output: missing") }
    }

    @Test func judgePromptFiles() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write("[system]\nJudge.\n[user]\nQ: {question}\nA: {response}\nAspect: {aspect}\n", to: folder + "/p.txt")
        let prompt = try JudgePrompt.load(folder + "/p.txt")
        let item = JudgeItem(
            questionId: "1", question: "why?", details: "d", response: "because", aspectIndex: 0,
            aspect: RubricAspect(aspect: "depth", reason: "r", evidence: "e"))
        #expect(prompt.messages(for: item).user == "Q: why?\nA: because\nAspect: depth")
        #expect(prompt.version != JudgePrompt.standard.version)
        try write("[system]\nx\n[user]\n{response} {aspect} {colour}\n", to: folder + "/bad.txt")
        #expect { try JudgePrompt.load(folder + "/bad.txt") } throws: { "\($0)".contains("unknown placeholder {colour}") }
        let standard = JudgePrompt.standard.messages(for: item)
        #expect(
            standard.user.contains("response: because") && standard.user.contains("-evidence: e") && standard.system.contains("match_score")
        )
    }

    /// Issue 14: placeholders are filled in one pass — a question or response holding
    /// placeholder text reaches the judge verbatim, and unknown braces stay.
    @Test func placeholderTextInAResponseReachesTheJudgeVerbatim() {
        let item = JudgeItem(
            questionId: "1", question: "what is {reason}?", details: "d", response: "see {evidence} and {aspect} {x}", aspectIndex: 0,
            aspect: RubricAspect(aspect: "depth", reason: "because-{response}", evidence: "e"))
        let user = JudgePrompt.standard.messages(for: item).user
        #expect(user.contains("question: what is {reason}?"))
        #expect(user.contains("response: see {evidence} and {aspect} {x}"))
        #expect(user.contains("-reason: because-{response}") && user.contains("-evidence: e"))
        #expect(PromptFile.fill("{a}{b}{ {c", with: ["a": "{b}", "b": "2"]) == "{b}2{ {c")
    }
}
