import ArgumentParser
import CommandSupport
import LaMPQA
import SafeTensors
import FileIO
import LaMPQACore
import IAPCore

/// `iap compare`: the paper's Table 1 from several `iap evaluate` outputs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract:
            "Tabulate iap evaluate outputs: methods × domains + macro, best/second marked, the method of interest's Δ% and significance over every other row (Bonferroni)."
    )

    @Argument(help: "iap evaluate output folders (each holds *.scores.json), one per method.")
    var results: [String]

    @Option(parsing: .upToNextOption, help: "Method names for the rows (default: the folder names).")
    var names: [String] = []

    @Option(help: "Significance level after Bonferroni correction.")
    var alpha = 0.01

    @Option(
        help:
            "The method of interest (a row name): its Δ% and significance against every other row (default: the row named IAP, else the last)."
    )
    var method: String?

    @Option(help: "Paired test that decides the * mark: t-test or wilcoxon (the other's p-values are in the csv and json output).")
    var test = ResultsTable.SignificanceTest.tTest

    @Option(help: "markdown, csv or json.")
    var format = TableFormat.markdown

    @Option(help: "Write the table to this file instead of standard output.")
    var out: String?

    @Flag(help: "Tabulate evaluations whose judge calls failed too (their rows are marked incomplete).")
    var allowIncomplete = false

    @Option(help: "Also print N questions side by side: each method's inferred intents, answer and score (IAP answer sets).")
    var show = 0

    func validate() throws {
        try FlagCheck.probability("--alpha", alpha)
        try FlagCheck.atLeast("--show", show, 0)
    }

    func run() throws {
        guard !results.isEmpty else { throw CLI.failure("give at least one results folder") }
        guard names.isEmpty || names.count == results.count else { throw CLI.failure("--names: give one name per results folder") }
        let methods = try results.enumerated().map { (i, folder) throws(ExitCode) -> MethodResult in
            do throws(LaMPQADataError) {
                return try ResultsTable.load(folder: folder, name: names.isEmpty ? nil : names[i], allowIncomplete: allowIncomplete)
            } catch {
                throw CLI.failure(error)
            }
        }
        if let method, !methods.contains(where: { $0.name == method }) {
            throw CLI.failure("--method \(method): no such row (rows: \(methods.map(\.name).joined(separator: ", ")))")
        }
        let table = ResultsTable(methods, alpha: alpha, interest: method, test: test)
        let text = format.text(table)
        if let out {
            do { try AtomicFile.write(text + "\n", to: out) } catch { throw CLI.failure(error) }
        } else {
            print(text)
        }
        guard show > 0 else { return }
        do {
            print("\n" + (try SideBySide.load(folders: results, names: methods.map(\.name), count: show)).text)
        } catch {
            throw CLI.failure("--show: \(error)")
        }
    }
}

/// `--test t-test|wilcoxon`.
extension ResultsTable.SignificanceTest: ExpressibleByArgument {}

/// `--format markdown|csv|json`: how a table is written.
enum TableFormat: String, CaseIterable, ExpressibleByArgument {
    case markdown, csv, json

    func text(_ table: ResultsTable) -> String {
        switch self {
        case .markdown: table.markdown
        case .csv: table.csv
        case .json: table.json
        }
    }
}
