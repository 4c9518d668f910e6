import ArgumentParser
import CommandSupport
import Hub
import LaMPQACore

/// Fetching benchmark data by name.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch benchmark data.", subcommands: [Pull.self])

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download LaMP-QA from the Hugging Face Hub into the layout iap reads ({Configuration}_{split}.json).",
            discussion: """
                Reads the dataset repository alireza7/LaMP-QA through the Hugging Face cache (HF_ENDPOINT, HF_TOKEN,
                HF_HUB_CACHE as for models): its own JSON or Parquet files when its main revision holds all nine
                tables, else the Parquet the Hub converts every public dataset into (refs/convert/parquet). Every
                record is checked as 'iap train' and 'iap evaluate' read it, and each table's count against the
                benchmark's (train/validation/test: Art 9349/801/767, Lifestyle 7370/892/989, Society 7614/810/1074);
                a table that differs is an error and is not written.
                """)

        @Argument(help: "The benchmark: lamp-qa.")
        var name: String

        @Option(help: "The folder to write the nine files into (created if missing).")
        var to: String

        @Option(help: "Another dataset repository holding LaMP-QA (org/name[@revision]); default alireza7/LaMP-QA.")
        var repository: String?

        func validate() throws {
            guard name.lowercased() == "lamp-qa" else { throw ValidationError("'\(name)' is not a benchmark iap pulls: lamp-qa") }
            if let repository, HubRepository(parsing: repository) == nil {
                throw ValidationError("--repository '\(repository)' is not a Hub id (org/name or org/name@revision)")
            }
        }

        func run() throws {
            var pull = LaMPQAPull()
            if let repository, let parsed = HubRepository(parsing: repository) {
                pull.repository = HubRepository(id: parsed.id, revision: parsed.revision, kind: .dataset)
            }
            do {
                let written = try pull.run(to: to) { print("lamp-qa: \($0)") }
                print("lamp-qa: \(written.reduce(0) { $0 + $1.records }) records in \(written.count) files under \(to)")
            } catch {
                throw CLI.failure(error)
            }
        }
    }
}
