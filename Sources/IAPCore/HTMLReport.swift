import FileIO
import JSONFiles
import LaMPQACore
import FileIO

#if canImport(Glibc)
    import Glibc
#endif

/// `iap report`: one self-contained HTML page (inline CSS and SVG, nothing fetched when it is
/// viewed) from training runs, `iap evaluate` folders and `iap ablate intents` folders.
///
/// Element ids (what the tests and users can rely on), k = input index:
/// - runs: `chart-reward-k` (reward and its parts), `chart-fig3-reward-k`, `chart-fig3-intent-k`,
///   `chart-fig3-response-k` (Figure 3), `chart-format-k`, `chart-kl-k`, `chart-clip-k`,
///   `chart-entropy-k`, `chart-time-k`, `table-summary-k`, `table-rollouts-k`;
///   SFT runs: `chart-sft-loss-k`, `chart-sft-grad-k`, `table-summary-k`, `table-labels-k`;
/// - evaluations together: `table-results`, `chart-results` (Table 1);
/// - per evaluation with an intents file: `table-buckets-k`, `chart-fig4-k` (Figure 4);
/// - intent ablations: `table-intent-ablation-k`, `chart-intent-ablation-k` (Table 2).
public struct HTMLReport {
    public enum Input: Sendable {
        case run(name: String, path: String)
        case evaluation(name: String, path: String)
        case intentAblation(name: String, path: String)
    }

    public var title = "IAP report"
    public var inputs: [Input] = []
    public var alpha = 0.01
    /// Show evaluations whose judge calls failed (marked as such) instead of refusing them.
    public var allowIncomplete = false
    /// Rollouts shown per run (the latest ones).
    public var rollouts = 40

    public init() {}

    /// What a folder is: a run (metrics.jsonl), an intent ablation (intent-ablation.json) or an
    /// evaluation (*.scores.json); an error names the folder otherwise.
    public static func classify(_ path: String, name: String? = nil) throws(ConfigError) -> Input {
        let label = name ?? (path.split(separator: "/").last.map(String.init) ?? path)
        if FileSystem.exists(path + "/metrics.jsonl") { return .run(name: label, path: path) }
        if FileSystem.exists(path + "/intent-ablation.json") { return .intentAblation(name: label, path: path) }
        if FileSystem.exists(path + "/summary.json") || (try? ResultsTable.load(folder: path)) != nil {
            return .evaluation(name: label, path: path)
        }
        throw ConfigError(
            "\(path): not a run folder (metrics.jsonl), an iap evaluate folder (*.scores.json) or an iap ablate intents folder")
    }

    static let style = """
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1320px;color:#222;padding:0 16px}
        h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}h3{font-size:16px}
        .charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #e4e4e4;border-radius:4px}
        .chart-title{font-size:13px;font-weight:600}.tick{font-size:11px;fill:#555}.legend{font-size:11px}
        .grid{stroke:#eee}.axis{stroke:#888}
        table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#f5f5f5}.results td{text-align:right}.results td:first-child{text-align:left}
        .caption,.note{font-size:12px;color:#666}.ok{color:#2a7d2a}.bad{color:#b22}
        .rollouts td{max-width:520px}.rollouts pre{white-space:pre-wrap;font-size:12px;margin:4px 0}
        details summary{cursor:pointer;color:#1f5fa8}ol{margin:0;padding-left:20px}
        """

    public func render() throws -> String {
        var body = "<h1>\(title.xmlEscaped)</h1>"
        body +=
            "<p class=\"note\">Inputs: "
            + inputs.map { input -> String in
                switch input {
                case .run(let n, let p): "run <b>\(n.xmlEscaped)</b> (\(p.xmlEscaped))"
                case .evaluation(let n, let p): "evaluation <b>\(n.xmlEscaped)</b> (\(p.xmlEscaped))"
                case .intentAblation(let n, let p): "intent ablation <b>\(n.xmlEscaped)</b> (\(p.xmlEscaped))"
                }
            }.joined(separator: "; ") + ".</p>"
        var evaluations: [(Int, MethodResult, String)] = []
        for (k, input) in inputs.enumerated() {
            switch input {
            case .run(let name, let path): body += runSection(k, name: name, path: path)
            case .evaluation(let name, let path):
                do {
                    evaluations.append((k, try ResultsTable.load(folder: path, name: name, allowIncomplete: allowIncomplete), path))
                } catch { throw ConfigError("\(error)") }
            case .intentAblation(let name, let path): body += try ablationSection(k, name: name, path: path)
            }
        }
        if !evaluations.isEmpty { body += resultsSection(evaluations) }
        return "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>\(title.xmlEscaped)</title>"
            + "<style>\(HTMLReport.style)</style></head><body>\(body)</body></html>\n"
    }

    // MARK: Training runs

    func runSection(_ k: Int, name: String, path: String) -> String {
        let lines = (try? JSONLines.read(MetricsLine.self, from: path + "/metrics.jsonl").records) ?? []
        var out = "<section id=\"run-\(k)\"><h2>Training: \(name.xmlEscaped)</h2>"
        out += "<p class=\"note\">\(lines.count) steps logged in \(path.xmlEscaped)/metrics.jsonl.</p>"
        func series(_ key: String, _ label: String? = nil) -> SVGChart.Series? {
            let points = lines.compactMap { line -> (x: Double, y: Double)? in line[key].map { (Double(line.step), $0) } }
            return points.isEmpty ? nil : SVGChart.Series(name: label ?? key, points: points)
        }
        func chart(_ id: String, _ title: String, _ keys: [(String, String)]) -> String {
            let s = keys.compactMap { series($0.0, $0.1) }
            return s.isEmpty ? "" : SVGChart.lines(id: "\(id)-\(k)", title: title, xLabel: "step", series: s)
        }
        let isSFT = lines.contains { $0.values["sft/loss"] != nil }
        if isSFT {
            out += "<div class=\"charts\">"
            out += chart("chart-sft-loss", "SFT loss (cross-entropy per label token)", [("sft/loss", "loss")])
            out += chart("chart-sft-grad", "Gradient norm", [("policy/grad_norm", "grad norm")])
            out += "</div>"
            out += summaryTable(
                k, lines, keys: [("sft/loss", "loss"), ("sft/label_score", "label score"), ("policy/grad_norm", "grad norm")])
            out += labelsTable(k, path: path)
            return out + "</section>"
        }
        out += "<h3>Reward</h3><div class=\"charts\">"
        out += chart(
            "chart-reward", "Reward and its parts",
            [
                ("reward/mean", "reward"), ("reward/personalization", "rubric score"), ("reward/similarity", "similarity to the reference"),
                ("reward/contrast", "contrast"), ("reward/length_penalty", "length penalty"),
            ])
        out += chart(
            "chart-format", "Format and sampling",
            [
                ("format/valid_fraction", "format-valid fraction"), ("dapo/zero_spread_fraction", "zero-spread groups"),
                ("response/truncated_fraction", "truncated"), ("format/budget_ended_fraction", "a block ended by its budget"),
                ("format/copied_prompt_fraction", "a block copies the prompt"),
                ("format/repeated_lines_fraction", "a block repeats a line"),
            ])
        out += "</div><h3>Figure 3: reward, intent length and response length per step</h3><div class=\"charts\">"
        out += chart("chart-fig3-reward", "Training reward", [("reward/mean", "reward")])
        out += chart("chart-fig3-intent", "Mean intent length (tokens)", [("intent/tokens", "intent tokens")])
        out += chart("chart-fig3-response", "Mean response length (tokens)", [("response/tokens", "response tokens")])
        out += "</div><h3>Policy</h3><div class=\"charts\">"
        out += chart("chart-kl", "KL to the reference (k3)", [("policy/kl", "KL")])
        out += chart("chart-clip", "Clipped token fractions", [("policy/clip_low", "clip low"), ("policy/clip_high", "clip high")])
        out += chart("chart-entropy", "Entropy per token", [("policy/entropy", "entropy")])
        out += chart(
            "chart-time", "Seconds per phase",
            [
                ("time/generation", "generation"), ("time/reference", "reference"), ("time/judge", "judge"),
                ("time/similarity", "similarity"),
                ("time/update", "update"),
            ])
        out += "</div>"
        out += summaryTable(
            k, lines,
            keys: [
                ("reward/mean", "reward"), ("reward/personalization", "rubric score"), ("format/valid_fraction", "format-valid"),
                ("format/copied_prompt_fraction", "copied prompt"), ("format/repeated_lines_fraction", "repeated lines"),
                ("intent/count", "intents"), ("intent/tokens", "intent tokens"), ("response/tokens", "response tokens"),
                ("policy/kl", "KL"),
            ])
        out += rolloutsTable(k, path: path)
        return out + "</section>"
    }

    /// What best-of-N selection gained: the labels' mean score against all candidates' mean.
    func labelsTable(_ k: Int, path: String) -> String {
        let labels = (try? JSONLines.read(SilverLabel.self, from: path + "/silver-labels.jsonl").records) ?? []
        guard !labels.isEmpty else { return "" }
        let best = labels.map(\.score)
        let all = labels.flatMap(\.candidateScores)
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
        return "<h3>Silver labels</h3><table id=\"table-labels-\(k)\" class=\"results\"><thead><tr><th>questions</th><th>candidates</th>"
            + "<th>mean score of the kept label</th><th>mean score of all candidates</th></tr></thead><tbody><tr><td>\(labels.count)</td>"
            + "<td>\(all.count)</td><td>\(ResultsTable.format(mean(best)))</td><td>\(ResultsTable.format(mean(all)))</td></tr></tbody></table>"
    }

    /// Mean of the first and last three steps for each key.
    func summaryTable(_ k: Int, _ lines: [MetricsLine], keys: [(String, String)]) -> String {
        func mean(_ slice: ArraySlice<MetricsLine>, _ key: String) -> Double? {
            let xs = slice.compactMap { $0[key] }
            return xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
        }
        var out =
            "<table id=\"table-summary-\(k)\" class=\"results\"><thead><tr><th>metric</th><th>first 3 steps</th><th>last 3 steps</th></tr></thead><tbody>"
        for (key, label) in keys {
            out +=
                "<tr><td>\(label.xmlEscaped)</td><td>\(ResultsTable.format(mean(lines.prefix(3), key)))</td><td>\(ResultsTable.format(mean(lines.suffix(3), key)))</td></tr>"
        }
        return out + "</tbody></table>"
    }

    func rolloutsTable(_ k: Int, path: String) -> String {
        let all = (try? JSONLines.read(RolloutRecord.self, from: path + "/rollouts.jsonl").records) ?? []
        let shown = all.suffix(rollouts)
        var out =
            "<h3>Sample rollouts</h3><p class=\"note\">The latest \(shown.count) of \(all.count) logged rollouts (rollouts.jsonl).</p>"
        out +=
            "<table id=\"table-rollouts-\(k)\" class=\"rollouts\"><thead><tr><th>step</th><th>question</th><th>format</th><th>reward</th>"
        out +=
            "<th>rubric</th><th>similarity</th><th>contrast</th><th>length pen.</th><th>intents</th><th>answer / completion</th></tr></thead><tbody>"
        for r in shown.reversed() { out += rolloutRow(r) }
        return out + "</tbody></table>"
    }

    func rolloutRow(_ r: RolloutRecord) -> String {
        func number(_ v: Double?) -> String { v.map { ResultsTable.format($0) } ?? "–" }
        var out = "<tr><td>\(r.step)</td><td>\(r.questionId.xmlEscaped)</td>"
        out += r.valid ? "<td class=\"ok\">valid</td>" : "<td class=\"bad\">\((r.problem ?? "malformed").xmlEscaped)</td>"
        out += "<td>\(number(r.reward))</td><td>\(number(r.personalization))</td><td>\(number(r.similarity))</td>"
        out += "<td>\(number(r.contrast))</td><td>\(number(r.lengthPenalty))</td>"
        out += "<td>" + (r.intents.isEmpty ? "–" : "<ol>" + r.intents.map { "<li>\($0.xmlEscaped)</li>" }.joined() + "</ol>") + "</td>"
        if let answer = r.answer {
            out += "<td><pre>\(answer.xmlEscaped)</pre>"
        } else {
            // No <answer> block: show how the reply starts, so a reader sees what went wrong.
            let start = r.completion.count > 300 ? String(r.completion.prefix(300)) + "…" : r.completion
            out += "<td><span class=\"note\">no answer block; the reply starts:</span><pre>\(start.xmlEscaped)</pre>"
        }
        return out + "<details><summary>full completion</summary><pre>\(r.completion.xmlEscaped)</pre></details></td></tr>"
    }

    // MARK: Results, Figure 4, Table 2

    func domainBars(_ id: String, _ title: String, _ results: [MethodResult]) -> String {
        let domains = LaMPQADomain.allCases.filter { d in results.contains { $0.scores[d] != nil } }
        let categories = domains.map(\.shortName) + (domains.count > 1 ? ["macro"] : [])
        let series = results.map { r -> (name: String, values: [Double?]) in
            let means = domains.map { r.mean($0) }
            let macro: Double? = means.contains { $0 == nil } ? nil : means.compactMap { $0 }.reduce(0, +) / Double(max(1, means.count))
            return (r.name, means + (domains.count > 1 ? [macro] : []))
        }
        return SVGChart.bars(id: id, title: title, categories: categories, series: series)
    }

    func resultsSection(_ evaluations: [(Int, MethodResult, String)]) -> String {
        let results = evaluations.map(\.1)
        var out = "<section id=\"results\"><h2>Results (Table 1 layout)</h2>"
        out += ResultsTable(results, alpha: alpha).html(id: "table-results")
        out += "<div class=\"charts\">" + domainBars("chart-results", "Score per domain", results) + "</div>"
        let withIntents = evaluations.filter { Self.intentsFile(forEvaluation: $0.2) != nil }
        if let shown = try? SideBySide.load(folders: withIntents.map(\.2), names: withIntents.map(\.1.name), count: 3),
            !shown.questions.isEmpty
        {
            out += "<h3>Side by side: three test questions</h3>" + shown.html(id: "side-by-side")
        }
        for (k, result, path) in evaluations {
            guard let intentsPath = Self.intentsFile(forEvaluation: path), let entries = try? IntentsFile.entries(intentsPath) else {
                continue
            }
            // A copied or repeated intent list is not the model's intent: it counts as none.
            let table = IntentBucketTable(intentCounts: entries.mapValues(\.countedIntents), scores: result)
            out += "<h3>Figure 4: \(result.name.xmlEscaped) by number of inferred intents</h3>"
            out +=
                "<p class=\"note\">Intents from \(intentsPath.xmlEscaped). Format: \(ReplyFormatSummary(entries.values).line.xmlEscaped)"
                + " (copied or repeated intent lists count as no intents).</p>"
            out += table.html(id: "table-buckets-\(k)")
            out +=
                "<div class=\"charts\">"
                + SVGChart.bars(
                    id: "chart-fig4-\(k)", title: "Score by intent-count bucket", categories: IntentBucketTable.titles,
                    series: table.groups.enumerated().map { (g, name) in (name, table.cells[g].map(\.mean)) }) + "</div>"
        }
        return out + "</section>"
    }

    /// The .intents.json next to the responses file an evaluation scored (from its summary.json).
    public static func intentsFile(forEvaluation folder: String) -> String? {
        struct Scored: Decodable { var responses: String }  // all the report needs of summary.json
        guard let summary = try? JSONFile.read(Scored.self, from: EvaluationFolder(path: folder).summaryPath) else { return nil }
        let path = IntentsFile.path(forResponses: summary.responses)
        return FileSystem.exists(path) ? path : nil
    }

    func ablationSection(_ k: Int, name: String, path: String) throws -> String {
        var results: [MethodResult] = []
        var reference = 0
        for condition in IntentCondition.allCases {
            guard let r = try? ResultsTable.load(folder: path + "/" + condition.rawValue, name: condition.title) else { continue }
            if condition == .selected { reference = results.count }
            results.append(r)
        }
        guard !results.isEmpty else { throw ConfigError("\(path): no condition folders (no-intent/, selected/, …) with scores") }
        let table = DeltaTable(results, reference: reference)
        var out = "<section id=\"ablation-\(k)\"><h2>Intent ablation (Table 2): \(name.xmlEscaped)</h2>"
        out += table.html(id: "table-intent-ablation-\(k)")
        out += "<div class=\"charts\">" + domainBars("chart-intent-ablation-\(k)", "Score per intent condition", results) + "</div>"
        return out + "</section>"
    }
}
