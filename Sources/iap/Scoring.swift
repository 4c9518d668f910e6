import ArgumentParser
import LaMPQA
import SafeTensors

#if canImport(Glibc)
    import Glibc
#endif

/// Scoring one responses file into an `iap evaluate` folder ({domain}_{split}.scores.json per
/// domain + summary.json), shared by evaluate and the ablation commands.
enum Scoring {
    static func evaluate(
        _ answers: [String: String], label: String, responsesPath: String, dataset: LaMPQADataset, split: LaMPQASplit, evaluator: Evaluator,
        folder: String
    ) async throws -> EvaluationReport {
        do { try FileSystem.makeDirectories(folder) } catch { throw CLI.failure(error) }
        let terminal = isatty(2) != 0
        let report = try await evaluator.evaluate(records: dataset.records, responses: answers) { p in
            let eta = p.secondsLeft.map { " ETA \(Int($0))s" } ?? ""
            let line = "\(label): \(p.done)/\(p.total) items, round \(p.round), \(Int(p.rate * 10) / 10)/s\(eta)"
            if terminal { CLI.writeError("\r" + line) } else if p.done == p.total { CLI.note(line) }
        }
        if terminal { CLI.writeError("\n") }
        try write(report, dataset: dataset, split: split, responsesPath: responsesPath, to: folder)
        return report
    }

    static func write(_ report: EvaluationReport, dataset: LaMPQADataset, split: LaMPQASplit, responsesPath: String, to folder: String) throws {
        for domain in LaMPQADomain.allCases where report.domainScores[domain] != nil {
            let questions = report.questions.filter { $0.domain == domain }
            let path = "\(folder)/\(domain.rawValue)_\(split.rawValue).scores.json"
            do { try AtomicFile.write(RubricScores.scoresFile(questions).pretty(), to: path) } catch { throw CLI.failure(error) }
        }
        let summary = JSONValue.object([
            ("responses", .string(responsesPath)), ("data", .string(dataset.folder)), ("split", .string(split.rawValue)),
            ("judge", .string(report.judgeIdentity)), ("judge_is_proxy", .bool(report.judgeIsProxy)),
            ("prompt_version", .string(report.promptVersion)),
            ("domains", .object(report.domainScores.sorted { $0.key < $1.key }.map { ($0.key.rawValue, .double($0.value)) })),
            ("macro", report.macro.map { .double($0) } ?? .null),
            ("questions", .int(report.questions.count)), ("judge_calls", .int(report.calls)), ("cache_hits", .int(report.cacheHits)),
            ("retries", .int(report.retries)),
            ("failed_items", .array(report.failed.map { .object([("id", .string($0.id)), ("aspect", .string($0.aspect)), ("problem", .string($0.problem))]) })),
            ("missing_responses", .array(report.missingResponses.map { .string($0) })),
        ])
        do { try AtomicFile.write(summary.pretty(), to: folder + "/summary.json") } catch { throw CLI.failure(error) }
        print("\(baseName(responsesPath))  judge \(report.judgeIdentity)\(report.judgeIsProxy ? " (proxy)" : "")")
        for (domain, score) in report.domainScores.sorted(by: { $0.key < $1.key }) {
            print("  \(domain.rawValue.padding(toLength: 36)) \(formatScore(score))")
        }
        if let macro = report.macro { print("  \("macro average".padding(toLength: 36)) \(formatScore(macro))") }
        print("  judge calls \(report.calls), cache hits \(report.cacheHits), retries \(report.retries), failed \(report.failed.count)")
        if !report.missingResponses.isEmpty {
            CLI.note("warning: \(report.missingResponses.count) questions have no response and were not scored (listed in summary.json)")
        }
    }
}
