#if canImport(Glibc)
    import Glibc
#endif

import FileIO
import JSONFiles
import FileIO

/// A data file that cannot be used, naming the file, the record (index and id) and the field.
public struct LaMPQADataError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let record: Int?
    public let id: String?
    public let field: String?
    public let reason: String

    public init(file: String, record: Int? = nil, id: String? = nil, field: String? = nil, reason: String) {
        self.file = file
        self.record = record
        self.id = id
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let record { place += ", record \(record)" }
        if let id { place += " (id \(id))" }
        if let field { place += ", field \(field)" }
        return "\(place): \(reason)"
    }
}

/// LaMP-QA records read from a folder laid out as the benchmark's download script writes
/// it: `{Configuration}_{split}.json` (a JSON array) or `.jsonl` (one record per line).
public struct LaMPQADataset: Sendable {
    public struct Options: Sendable {
        public var domains: [LaMPQADomain] = LaMPQADomain.allCases
        public var split: LaMPQASplit = .test
        /// At most this many records per domain (the first ones, or a seeded sample).
        public var limit: Int?
        /// Draw `limit` records at random with this seed instead of taking the first ones.
        public var sampleSeed: UInt64?
        /// Skip invalid records with a warning instead of failing.
        public var skipInvalid = false
        public init() {}

        /// A split, at most `limit` records per domain.
        public init(split: LaMPQASplit, limit: Int? = nil) {
            self.split = split
            self.limit = limit
        }
    }

    public let folder: String
    /// What was read: the split, domains, limit.
    public let options: Options
    public let records: [LaMPQARecord]
    /// One line per skipped record (only with `skipInvalid`).
    public let warnings: [String]

    public init(folder: String, options: Options = Options()) throws(LaMPQADataError) {
        self.folder = folder
        self.options = options
        if let limit = options.limit, limit < 1 {
            throw LaMPQADataError(file: folder, reason: "limit \(limit): give at least 1 question per domain")
        }
        var all: [LaMPQARecord] = []
        var warnings: [String] = []
        var firstFile: [String: String] = [:]
        for domain in options.domains {
            let base = "\(folder)/\(domain.rawValue)_\(options.split.rawValue)"
            let path: String
            let candidates: [String] = [base + ".json", base + ".jsonl"]
            if let found = candidates.first(where: { (candidate: String) -> Bool in access(candidate, F_OK) == 0 }) {
                path = found
            } else {
                throw LaMPQADataError(
                    file: base + ".json",
                    reason: "missing: the folder needs one file per domain and split, named as the benchmark names them")
            }
            var records = try LaMPQADataset.readFile(path, domain: domain, skipInvalid: options.skipInvalid, warnings: &warnings)
            // Ids key responses and scores across domains: one in two files would be ambiguous.
            for (index, record) in records.enumerated() {
                if let other = firstFile.updateValue(path, forKey: record.id) {
                    throw LaMPQADataError(file: path, record: index, id: record.id, field: "id", reason: "is also in \(other)")
                }
            }
            if records.isEmpty {
                warnings.append("\(path) holds no questions: the macro average leaves \(domain.rawValue) out")
            }
            if let limit = options.limit, limit < records.count {
                if let seed = options.sampleSeed {
                    var rng = SplitMix64(seed: seed &+ UInt64(domain.index))
                    records.shuffle(using: &rng)
                    records = Array(records.prefix(limit)).sorted { LaMPQADataset.order($0.id, $1.id) }
                } else {
                    records = Array(records.prefix(limit))
                }
            }
            all += records
        }
        self.records = all
        self.warnings = warnings
    }

    /// Ids in numeric order (`0_2_10` after `0_2_9`).
    static func order(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "_").map { Int($0) ?? 0 }
        let y = b.split(separator: "_").map { Int($0) ?? 0 }
        return x.lexicographicallyPrecedes(y)
    }

    public func records(in domain: LaMPQADomain) -> [LaMPQARecord] { records.filter { $0.domain == domain } }

    static func readFile(_ path: String, domain: LaMPQADomain, skipInvalid: Bool, warnings: inout [String]) throws(LaMPQADataError)
        -> [LaMPQARecord]
    {
        let slots = try RecordSlot.read(path)
        var records: [LaMPQARecord] = []
        var seen: Set<String> = []
        for (index, slot) in slots.enumerated() {
            do throws(LaMPQADataError) {
                let record = try slot.record(index: index, file: path, domain: domain)
                guard seen.insert(record.id).inserted else {
                    throw LaMPQADataError(file: path, record: index, id: record.id, field: "id", reason: "appears twice")
                }
                records.append(record)
            } catch {
                guard skipInvalid else { throw error }
                warnings.append("skipped: \(error)")
            }
        }
        return records
    }
}

/// SplitMix64, a small seeded generator for reproducible sampling.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
