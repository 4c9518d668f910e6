import Foundation
import LaMPQACore
import SafeTensors
import Testing
import FileIO
import JSONFiles

@testable import IAPCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The report is well-formed (parsed as XML), self-contained, and holds every chart and table
/// it promises for runs, SFT runs, evaluations (with intents: Figure 4) and intent ablations.
@Suite struct HTMLReportTests {
    final class IdCollector: NSObject, XMLParserDelegate {
        var ids: [String] = []
        var elements: [String: Int] = [:]
        var externalReferences: [String] = []
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]
        ) {
            elements[name, default: 0] += 1
            if let id = attributes["id"] { ids.append(id) }
            for key in ["src", "href"] { if let v = attributes[key] { externalReferences.append(v) } }
        }
    }

    func write(_ text: String, _ path: String) throws {
        try FileSystem.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
        try AtomicFile.write(text, to: path)
    }

    func scores(_ values: [(String, Double)]) -> String {
        JSONValue.object([("per_question_scores", .array(values.map { .object([("id", .string($0.0)), ("score", .double($0.1))]) }))])
            .pretty()
    }

    @Test func reportHoldsEveryChartAndTable() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        // A training run: 4 steps of metrics and two rollouts whose text needs escaping.
        var metrics = ""
        for step in 1...4 {
            let x = Double(step)
            metrics +=
                JSONValue.object([
                    ("step", .int(step)), ("reward/mean", .double(-0.5 + 0.1 * x)), ("reward/personalization", .double(0.2 + 0.05 * x)),
                    ("reward/contrast", .double(0.3)), ("reward/length_penalty", .double(0.01 * x)),
                    ("format/valid_fraction", .double(0.25 * x)),
                    ("dapo/zero_spread_fraction", .double(0)), ("response/truncated_fraction", .double(0.5)),
                    ("intent/tokens", .double(20 + x)),
                    ("response/tokens", .double(150 - x)), ("intent/count", .double(3)), ("policy/kl", .double(0.001 * x)),
                    ("policy/clip_low", .double(0.01)), ("policy/clip_high", .double(0.02)),
                    ("policy/entropy", step == 3 ? .null : .double(1.5)),
                    ("time/generation", .double(5)), ("time/update", .double(40)),
                ]).serialized + "\n"
        }
        try write(metrics, base + "/run/metrics.jsonl")
        let tricky = "<script>alert('x')</script> & \"quoted\" \u{1} end"
        let rollouts = [
            RolloutRecord(
                step: 4, questionId: "0_0_0", completion: tricky, valid: true, problem: nil, intents: ["learn <b>", "save & spend"],
                answer: tricky,
                reward: 0.4, personalization: 0.5, similarity: 0.8, contrast: 0.08, lengthPenalty: 0.2, advantage: 0.3, finishReason: "stop"
            ),
            RolloutRecord(
                step: 4, questionId: "0_0_1", completion: "no tags", valid: false, problem: "missing <think>", intents: [], answer: nil,
                reward: -1,
                personalization: nil, similarity: nil, contrast: 0, lengthPenalty: 0, advantage: -0.3, finishReason: "length"),
        ]
        try write(try rollouts.map { try JSONFile.encode($0) + "\n" }.joined(), base + "/run/rollouts.jsonl")
        // An SFT run.
        try write(
            (1...3).map {
                JSONValue.object([("step", .int($0)), ("sft/loss", .double(2.5 - 0.1 * Double($0))), ("sft/label_score", .double(0.3))])
                    .serialized
            }
            .joined(separator: "\n") + "\n", base + "/sft/metrics.jsonl")
        let labels = [
            SilverLabel(id: "q1", score: 0.5, response: "a", candidateScores: [0.5, 0.1], promptIds: [1], replyIds: [2]),
            SilverLabel(id: "q2", score: 0.3, response: "b", candidateScores: [0.3, 0.3], promptIds: [1], replyIds: [3]),
        ]
        try write(try labels.map { try JSONFile.encode($0) + "\n" }.joined(), base + "/sft/silver-labels.jsonl")
        // Two evaluations; the IAP one has intents beside its responses (Figure 4).
        let art = LaMPQADomain.artAndEntertainment.rawValue, life = LaMPQADomain.lifestyleAndPersonalDevelopment.rawValue
        try write(scores([("0_0_0", 0.5), ("0_0_1", 0.7)]), base + "/eval-iap/\(art)_test.scores.json")
        try write(scores([("1_0_0", 0.4)]), base + "/eval-iap/\(life)_test.scores.json")
        try write(JSONValue.object([("responses", .string(base + "/iap.json"))]).pretty(), base + "/eval-iap/summary.json")
        try write(
            #"{"0_0_0": {"intents": ["a", "b", "c"]}, "0_0_1": {"intents": ["a"]}, "1_0_0": {"intents": []}}"#, base + "/iap.intents.json")
        try write(scores([("0_0_0", 0.3), ("0_0_1", 0.2)]), base + "/eval-base/\(art)_test.scores.json")
        try write(scores([("1_0_0", 0.6)]), base + "/eval-base/\(life)_test.scores.json")
        // An intent ablation with two conditions.
        try write("{}", base + "/ablation/intent-ablation.json")
        try write(scores([("0_0_0", 0.5)]), base + "/ablation/selected/\(art)_test.scores.json")
        try write(scores([("0_0_0", 0.1)]), base + "/ablation/no-intent/\(art)_test.scores.json")

        var report = HTMLReport()
        report.title = "Test & report"
        for path in ["run", "sft", "eval-iap", "eval-base", "ablation"] { report.inputs.append(try HTMLReport.classify(base + "/" + path)) }
        #expect(throws: ConfigError.self) { try HTMLReport.classify(base + "/nothing-here") }
        let html = try report.render()

        let parser = XMLParser(data: Data(html.utf8))
        let collector = IdCollector()
        parser.delegate = collector
        #expect(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        let ids = Set(collector.ids)
        let promised = [
            "chart-reward-0", "chart-format-0", "chart-fig3-reward-0", "chart-fig3-intent-0", "chart-fig3-response-0", "chart-kl-0",
            "chart-clip-0", "chart-entropy-0", "chart-time-0", "table-summary-0", "table-rollouts-0", "chart-sft-loss-1", "table-summary-1",
            "table-labels-1",
            "table-results", "chart-results", "table-buckets-2", "chart-fig4-2", "table-intent-ablation-4", "chart-intent-ablation-4",
        ]
        for id in promised { #expect(ids.contains(id), "missing \(id)") }
        #expect(!ids.contains("table-buckets-3"))  // no intents file for the baseline
        #expect(collector.externalReferences.isEmpty && collector.elements["script"] == nil)
        #expect((collector.elements["svg"] ?? 0) == 13 && (collector.elements["polyline"] ?? 0) >= 8)
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;  end"))
        #expect(html.contains("<li>learn &lt;b&gt;</li>") && html.contains("missing &lt;think&gt;"))
        #expect(html.contains("no answer block; the reply starts:</span><pre>no tags</pre>"))
        #expect(html.contains("<td>2</td><td>4</td><td>0.4000</td><td>0.3000</td>"))
        // Table 1 marks the best per column: eval-iap leads art (0.6 vs 0.25), eval-base lifestyle.
        #expect(html.contains("<td>eval-iap</td><td><b>0.6000</b></td><td><u>0.4000</u></td>"))
        // Figure 4: art has one question with 3 intents (0.5) and one with 1 (0.7).
        #expect(html.contains("<td>0.7000 (n=1)</td><td>0.5000 (n=1)</td>"))
    }
}
