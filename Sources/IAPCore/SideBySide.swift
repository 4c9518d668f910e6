import FileIO
import JSONFiles
import LaMPQACore

/// A few questions answered by several IAP answer sets (the start and the trained policy):
/// each set's inferred intents, answer and score, question by question — what `iap compare
/// --show N` prints and the report shows. Built from `iap evaluate` folders: the responses
/// file each scored, the `.intents.json` beside it, the data it was scored against.
public struct SideBySide: Sendable {
    public struct Entry: Sendable {
        public var method: String
        public var intents: [String]
        public var problem: String?
        public var answer: String
        public var score: Double?
    }
    public struct Question: Sendable {
        public var id: String
        public var domain: LaMPQADomain
        public var text: String
        public var entries: [Entry]
    }
    public var questions: [Question]

    /// `count` questions that every set answered, taken in turn from each domain (the data's
    /// order), for the evaluations `folders` named `names`.
    public static func load(folders: [String], names: [String], count: Int) throws -> SideBySide {
        var sets: [(name: String, answers: [String: String], intents: [String: InferredIntents], result: MethodResult)] = []
        var records: [LaMPQARecord] = []
        for (folder, name) in zip(folders, names) {
            let evaluation = EvaluationFolder(path: folder)
            let summary = try JSONFile.read(EvaluationSummary.self, from: evaluation.summaryPath)
            let intentsPath = IntentsFile.path(forResponses: summary.responses)
            let intents = FileSystem.exists(intentsPath) ? try JSONFile.read([String: InferredIntents].self, from: intentsPath) : [:]
            sets.append(
                (name, try ResponsesFile.load(summary.responses), intents, try evaluation.methodResult(name: name, allowIncomplete: true)))
            if records.isEmpty, let split = LaMPQASplit(rawValue: summary.split) {
                var options = LaMPQADataset.Options()
                options.split = split
                records = try LaMPQADataset(folder: summary.data, options: options).records
            }
        }
        let common = records.filter { r in sets.allSatisfy { $0.answers[r.id] != nil } }
        let chosen = roundRobin(common, count: count)
        return SideBySide(
            questions: chosen.map { record in
                Question(
                    id: record.id, domain: record.domain, text: record.question,
                    entries: sets.map { set in
                        Entry(
                            method: set.name, intents: set.intents[record.id]?.intents ?? [], problem: set.intents[record.id]?.problem,
                            answer: set.answers[record.id] ?? "", score: set.result.scores[record.domain]?[record.id])
                    })
            })
    }

    /// The first `count` records taking one from each domain in turn.
    static func roundRobin(_ records: [LaMPQARecord], count: Int) -> [LaMPQARecord] {
        var byDomain = LaMPQADomain.allCases.map { d in records.filter { $0.domain == d }[...] }
        var out: [LaMPQARecord] = []
        while out.count < count && byDomain.contains(where: { !$0.isEmpty }) {
            for d in byDomain.indices where out.count < count {
                if let first = byDomain[d].popFirst() { out.append(first) }
            }
        }
        return out
    }

    /// For a terminal: each question, then each set's intents, answer and score.
    public var text: String {
        var lines: [String] = []
        for (q, question) in questions.enumerated() {
            lines.append("── Question \(q + 1) (\(question.domain.rawValue), \(question.id)): \(question.text)")
            for entry in question.entries {
                lines.append("  [\(entry.method)] score \(entry.score.map { ResultsTable.format($0) } ?? "–")")
                if entry.intents.isEmpty {
                    lines.append("    intents: none\(entry.problem.map { " (\($0))" } ?? "")")
                } else {
                    lines.append("    intents:")
                    lines += entry.intents.enumerated().map { "      \($0.offset + 1). \($0.element)" }
                }
                lines.append("    answer: " + entry.answer.split(separator: "\n").joined(separator: "\n            "))
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// A table per question, one column per answer set.
    public func html(id: String) -> String {
        var out = ""
        for (q, question) in questions.enumerated() {
            out += "<h3>Question \(q + 1) (\(question.domain.rawValue.xmlEscaped)): \(question.text.xmlEscaped)</h3>"
            out += "<table id=\"\(id.xmlEscaped)-\(q)\" class=\"side-by-side\"><thead><tr><th></th>"
            out += question.entries.map { "<th>\($0.method.xmlEscaped)</th>" }.joined() + "</tr></thead><tbody>"
            out +=
                "<tr><td>intents</td>"
                + question.entries.map { entry in
                    entry.intents.isEmpty
                        ? "<td>none\((entry.problem.map { " (\($0))" } ?? "").xmlEscaped)</td>"
                        : "<td><ol>" + entry.intents.map { "<li>\($0.xmlEscaped)</li>" }.joined() + "</ol></td>"
                }.joined() + "</tr>"
            out += "<tr><td>answer</td>" + question.entries.map { "<td>\($0.answer.xmlEscaped)</td>" }.joined() + "</tr>"
            out += "<tr><td>score</td>" + question.entries.map { "<td>\(ResultsTable.format($0.score))</td>" }.joined() + "</tr>"
            out += "</tbody></table>"
        }
        return out
    }
}
