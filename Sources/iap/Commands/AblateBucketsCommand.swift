import ArgumentParser
import CommandSupport
import FileIO
import IAPCore
import LaMPQACore

/// Figure 4: an evaluation's scores grouped by the number of intents the model inferred.
struct AblateBucketsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buckets",
        abstract: "Scores by intent-count bucket: Low (1–2), Medium (3–4), High (5+), per domain and overall.")

    @Option(help: "The .intents.json of `iap answer --method iap`.")
    var intents: String

    @Option(help: "The `iap evaluate` folder of the same responses.")
    var results: String

    @Option(help: "Write <out>.md, <out>.csv and <out>.json besides printing the table.")
    var out: String?

    func run() throws {
        let own: [String: InferredIntents]
        do { own = try IntentsFile.entries(intents) } catch { throw CLI.failure(error) }
        let scores: MethodResult
        do { scores = try ResultsTable.load(folder: results) } catch { throw CLI.failure(error) }
        let table = IntentBucketTable(intentCounts: own.mapValues(\.countedIntents), scores: scores)
        if let out {
            do {
                try AtomicFile.write(table.markdown + "\n", to: out + ".md")
                try AtomicFile.write(table.csv + "\n", to: out + ".csv")
                try AtomicFile.write(table.json + "\n", to: out + ".json")
            } catch {
                throw CLI.failure(error)
            }
        }
        print(table.markdown)
    }
}
