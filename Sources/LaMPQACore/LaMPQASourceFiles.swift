/// Which files of a dataset repository hold which LaMP-QA table. The repository's layout is
/// not documented, so any of the layouts the field writes is recognised: the benchmark's own
/// `{Configuration}_{split}.json`/`.jsonl`, `datasets`' `push_to_hub` Parquet
/// (`{Configuration}/{split}-00000-of-00001.parquet`, maybe under `data/`), and the Hub's
/// converted Parquet branch (`{configuration}/{split}/0000.parquet`, `partial-{split}` when
/// the converter cut a large table short — the record counts catch that).
public struct LaMPQASourceFiles: Sendable, Equatable {
    public struct Table: Sendable, Equatable, Hashable {
        public let domain: LaMPQADomain
        public let split: LaMPQASplit
        public init(domain: LaMPQADomain, split: LaMPQASplit) {
            self.domain = domain
            self.split = split
        }
        /// `{Configuration}_{split}.json`, the name `iap` reads.
        public var fileName: String { "\(domain.rawValue)_\(split.rawValue).json" }
    }

    /// Each table's files, in order (a table may be sharded).
    public let files: [Table: [String]]

    public static var allTables: [Table] {
        LaMPQADomain.allCases.flatMap { d in LaMPQASplit.allCases.map { Table(domain: d, split: $0) } }
    }

    /// The tables found among `paths`; one format per table (Parquet, else JSON Lines, else
    /// JSON), so a repository holding both never mixes them.
    public init(paths: [String]) {
        var files: [Table: [String]] = [:]
        for table in Self.allTables {
            let matching = paths.filter { Self.holds($0, table) }
            for suffix in [".parquet", ".jsonl", ".json"] {
                let picked = matching.filter { $0.lowercased().hasSuffix(suffix) }.sorted()
                if !picked.isEmpty {
                    files[table] = picked
                    break
                }
            }
        }
        self.files = files
    }

    public var missing: [Table] { Self.allTables.filter { files[$0] == nil } }
    public var allPaths: [String] { Self.allTables.flatMap { files[$0] ?? [] } }

    /// The path names the configuration, and, once that is taken out, the split as a word of
    /// its own (`train-00000-of-00001`, `partial-test`, `_validation.json`).
    static func holds(_ path: String, _ table: Table) -> Bool {
        let lower = path.lowercased()
        guard [".parquet", ".jsonl", ".json"].contains(where: { lower.hasSuffix($0) }) else { return false }
        let config = table.domain.rawValue.lowercased()
        guard lower.contains(config) else { return false }
        let rest = lower.split(separator: config, omittingEmptySubsequences: false).joined(separator: "/")
        let words = rest.split(whereSeparator: { "/_-.".contains($0) })
        return words.contains { $0 == table.split.rawValue }
    }
}
