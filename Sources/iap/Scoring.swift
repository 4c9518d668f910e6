import CommandSupport
import FileIO
import LaMPQACore

#if canImport(Glibc)
    import Glibc
#endif

/// How the commands that score answers (evaluate, ablate) show an evaluation: a progress
/// line on stderr, then the per-domain scores and the judge's counts.
enum EvaluationDisplay {
    /// Rewrites one progress line on a terminal; prints only the last one otherwise.
    static func progress(_ label: String) -> @Sendable (EvaluationProgress) -> Void {
        let terminal = isatty(2) != 0
        return { p in
            let eta = p.secondsLeft.map { " ETA \(Int($0))s" } ?? ""
            let line = "\(label): \(p.done)/\(p.total) items, round \(p.round), \(Int(p.rate * 10) / 10)/s\(eta)"
            if terminal { CLI.writeError("\r" + line + (p.done == p.total ? "\n" : "")) } else if p.done == p.total { CLI.note(line) }
        }
    }

    static func show(_ report: EvaluationReport, responses: String) {
        print("\(FileSystem.baseName(responses))  judge \(report.judgeIdentity)\(report.judgeIsProxy ? " (proxy)" : "")")
        // A domain with an item never judged shows "—", never a score counting it as 0.
        for domain in Set(report.questions.map(\.domain)).sorted() {
            print("  \(domain.rawValue.padding(toLength: 36)) \(report.domainScores[domain].map(formatScore) ?? "—")")
        }
        if report.macro != nil || !report.incompleteDomains.isEmpty {
            print("  \("macro average".padding(toLength: 36)) \(report.macro.map(formatScore) ?? "—")")
        }
        let unanswered = report.unanswered > 0 ? " (\(report.unanswered) without a reply)" : ""
        print(
            "  judge calls \(report.calls)\(unanswered), cache hits \(report.cacheHits), retries \(report.retries), unusable answers \(report.failed.count)"
        )
        if let first = report.incomplete.first {
            let open = report.incompleteDomains.map(\.rawValue).joined(separator: ", ")
            CLI.note(
                "error: \(report.incomplete.count) judge calls failed (first: \(first.problem)); these items have no score, nor have their domains (\(open))"
            )
        }
        if !report.missingResponses.isEmpty {
            CLI.note("warning: \(report.missingResponses.count) questions have no response and were not scored (listed in summary.json)")
        }
    }
}

func formatScore(_ x: Double) -> String { ResultsTable.format(x) }
