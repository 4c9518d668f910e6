import ArgumentParser
import CommandSupport
import LaMPQA
import SafeTensors
import FileIO
import LaMPQACore

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
        do { try EvaluationFolder(path: folder).write(report, responses: responsesPath, data: dataset.folder, split: split) } catch {
            throw CLI.failure(error)
        }
        print("\(FileSystem.baseName(responsesPath))  judge \(report.judgeIdentity)\(report.judgeIsProxy ? " (proxy)" : "")")
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
