import ArgumentParser
import CommandSupport
import IAP
import LaMPQA
import SafeTensors
import FileIO
import LaMPQACore
import IAPCore

/// `iap report`: a self-contained HTML page of training curves, result tables and analyses.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report (SVG charts, tables, sample rollouts) from runs and results.",
        discussion: """
            Give any mix of: training run folders (iap train / iap sft), iap evaluate folders (tabulated together as Table 1; \
            Figure 4 when the scored responses have a .intents.json beside them) and iap ablate intents folders (Table 2). \
            The page needs nothing from the network to be viewed.
            """)

    @Argument(help: "Run folders, evaluation folders and intent-ablation folders.")
    var inputs: [String]

    @Option(parsing: .upToNextOption, help: "Names for the inputs, in order (default: the folder names).")
    var names: [String] = []

    @Option(help: "HTML file to write.")
    var out = "report.html"

    @Option(help: "Page title.")
    var title = "IAP report"

    @Option(help: "Significance level of Table 1 (after Bonferroni correction).")
    var alpha = 0.01

    @Option(help: "Sample rollouts shown per run.")
    var rollouts = 40

    @Flag(help: "Show evaluations whose judge calls failed too (marked incomplete) instead of refusing them.")
    var allowIncomplete = false

    func validate() throws {
        try FlagCheck.probability("--alpha", alpha)
        try FlagCheck.atLeast("--rollouts", rollouts, 0)
    }

    func run() throws {
        guard !inputs.isEmpty else { throw CLI.failure("give at least one run, evaluation or ablation folder") }
        guard names.isEmpty || names.count == inputs.count else { throw CLI.failure("--names: give one name per input") }
        var report = HTMLReport()
        report.title = title
        report.alpha = alpha
        report.rollouts = rollouts
        report.allowIncomplete = allowIncomplete
        for (i, path) in inputs.enumerated() {
            do { report.inputs.append(try HTMLReport.classify(path, name: names.isEmpty ? nil : names[i])) } catch {
                throw CLI.failure(error)
            }
        }
        let html: String
        do { html = try report.render() } catch { throw CLI.failure("\(error)") }
        do { try AtomicFile.write(html, to: out) } catch { throw CLI.failure(error) }
        print("wrote \(out) (\(html.utf8.count / 1024) KiB)")
    }
}
