import FileIO
import Foundation
import Hub
import Parquet

/// `iap data pull lamp-qa`: the benchmark from its Hub dataset repository into the layout `iap`
/// reads, `{Configuration}_{split}.json` (a JSON array of records, what the benchmark's own
/// download script writes). Files are taken from the repository's main revision when it holds
/// all nine tables (JSON, JSON Lines or Parquet), else from the Parquet the Hub converts every
/// public dataset into (`refs/convert/parquet`). Downloads go through the shared Hugging Face
/// cache (`datasets--alireza7--LaMP-QA`); each table is written atomically, every record
/// checked as `iap` will read it, and the record counts compared with the benchmark's.
public struct LaMPQAPull: Sendable {
    public static let repository = HubRepository(id: "alireza7/LaMP-QA", kind: .dataset)
    public static let convertedParquet = "refs/convert/parquet"

    /// Records per table as the benchmark publishes them (train / validation / test).
    public static let benchmarkCounts: [LaMPQASourceFiles.Table: Int] = {
        let counts: [LaMPQADomain: [Int]] = [
            .artAndEntertainment: [9349, 801, 767], .lifestyleAndPersonalDevelopment: [7370, 892, 989],
            .societyAndCulture: [7614, 810, 1074],
        ]
        var table: [LaMPQASourceFiles.Table: Int] = [:]
        for (domain, numbers) in counts {
            for (split, n) in zip(LaMPQASplit.allCases, numbers) { table[.init(domain: domain, split: split)] = n }
        }
        return table
    }()

    public var client: HubClient
    public var repository: HubRepository
    /// What each table must hold; a different count is an error (tests use a smaller table).
    public var expectedCounts: [LaMPQASourceFiles.Table: Int]

    public init(
        client: HubClient = HubClient(), repository: HubRepository = LaMPQAPull.repository,
        expectedCounts: [LaMPQASourceFiles.Table: Int] = LaMPQAPull.benchmarkCounts
    ) {
        self.client = client
        self.repository = repository
        self.expectedCounts = expectedCounts
    }

    /// One table written: its file and how many records it holds.
    public struct Written: Sendable, Equatable {
        public let path: String
        public let records: Int
        public let source: [String]
    }

    /// Downloads, converts, checks and writes all nine tables into `folder`.
    public func run(to folder: String, log: @escaping @Sendable (String) -> Void) throws(LaMPQAPullError) -> [Written] {
        let (snapshot, sources) = try locate(log: log)
        var written: [Written] = []
        for table in LaMPQASourceFiles.allTables {
            let files = (sources.files[table] ?? []).map { snapshot + "/" + $0 }
            let count = try write(table, from: files, to: folder)
            written.append(Written(path: folder + "/" + table.fileName, records: count, source: sources.files[table] ?? []))
            log("\(table.fileName): \(count) records")
        }
        return written
    }

    /// The snapshot holding all nine tables: main's own files, else the converted Parquet.
    private func locate(log: @escaping @Sendable (String) -> Void) throws(LaMPQAPullError) -> (String, LaMPQASourceFiles) {
        var attempts: [(String, LaMPQASourceFiles)] = []
        let revisions: [String?] = repository.revision != nil ? [repository.revision] : [nil, Self.convertedParquet]
        for revision in revisions {
            let target = repository.at(revision)
            if HubCache.isOffline {
                // HF_HUB_OFFLINE: what an earlier pull left in the cache, never the network.
                let cached = cachedTables(target)
                if let cached, cached.1.missing.isEmpty { return cached }
                attempts.append(("\(target) in the cache (HF_HUB_OFFLINE)", cached?.1 ?? LaMPQASourceFiles(paths: [])))
                continue
            }
            var found = LaMPQASourceFiles(paths: [])
            let snapshot: String
            do {
                snapshot = try client.download(target, log: log) { (paths) throws(HubError) in
                    found = LaMPQASourceFiles(paths: paths)
                    return found.missing.isEmpty ? found.allPaths : []
                }.snapshot
            } catch {
                throw LaMPQAPullError(step: "download of \(target)", reason: error.message)
            }
            if found.missing.isEmpty { return (snapshot, found) }
            log("\(target) does not hold every table (\(found.missing.count) of 9 missing)")
            attempts.append((target.description, found))
        }
        let missing = attempts.last?.1.missing.map(\.fileName).joined(separator: ", ") ?? ""
        throw LaMPQAPullError(
            step: "finding the tables in \(repository)",
            reason: "no revision tried (\(attempts.map(\.0).joined(separator: ", "))) holds all nine tables; missing: \(missing)")
    }
}

extension LaMPQAPull {
    /// The tables a cached snapshot of `target` holds (its files, relative), nil without one.
    func cachedTables(_ target: HubRepository) -> (String, LaMPQASourceFiles)? {
        guard let snapshot = client.cache.snapshot(of: target),
            let walker = FileManager.default.enumerator(atPath: snapshot)
        else { return nil }
        let paths = walker.compactMap { $0 as? String }
        return (snapshot, LaMPQASourceFiles(paths: paths))
    }
}

/// A pull that failed: the step (download, a table's conversion or check) and why.
public struct LaMPQAPullError: Error, CustomStringConvertible, Sendable {
    public let step: String
    public let reason: String
    public var description: String { "\(step): \(reason)" }
}
