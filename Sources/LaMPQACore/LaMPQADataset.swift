#if canImport(Glibc)
    import Glibc
#endif

import SafeTensors
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
    }

    public let folder: String
    public let records: [LaMPQARecord]
    /// One line per skipped record (only with `skipInvalid`).
    public let warnings: [String]

    public init(folder: String, options: Options = Options()) throws(LaMPQADataError) {
        self.folder = folder
        var all: [LaMPQARecord] = []
        var warnings: [String] = []
        for domain in options.domains {
            let base = "\(folder)/\(domain.rawValue)_\(options.split.rawValue)"
            let path: String
            let candidates: [String] = [base + ".json", base + ".jsonl"]
            if let found = candidates.first(where: { (candidate: String) -> Bool in access(candidate, F_OK) == 0 }) {
                path = found
            } else {
                throw LaMPQADataError(
                    file: base + ".json", reason: "missing: the folder needs one file per domain and split, named as the benchmark names them")
            }
            var records = try LaMPQADataset.readFile(path, domain: domain, skipInvalid: options.skipInvalid, warnings: &warnings)
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
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw LaMPQADataError(file: path, reason: error.reason) }
        var items: [JSONValue] = []
        if path.hasSuffix(".jsonl") {
            var lineStart = 0
            let bytes = file.bytes
            var lineNumber = 0
            while lineStart < bytes.count {
                var end = lineStart
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                lineNumber += 1
                let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<end])
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    do { items.append(try JSONValue.parse(line)) } catch {
                        throw LaMPQADataError(file: "\(path):\(lineNumber)", reason: error.description)
                    }
                }
                lineStart = end + 1
            }
        } else {
            let document: JSONValue
            do { document = try JSONValue.parse(file.bytes) } catch { throw LaMPQADataError(file: path, reason: error.description) }
            guard let array = document.arrayValue else {
                throw LaMPQADataError(file: path, reason: "expected a JSON array of records (the benchmark's layout)")
            }
            items = array
        }
        var records: [LaMPQARecord] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            do throws(LaMPQADataError) {
                let record = try parseRecord(item, index: index, file: path, domain: domain)
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

    static func parseRecord(_ value: JSONValue, index: Int, file: String, domain: LaMPQADomain) throws(LaMPQADataError) -> LaMPQARecord {
        guard case .object = value else { throw LaMPQADataError(file: file, record: index, reason: "not a JSON object") }
        let id: String
        switch value["id"] {
        case .some(.string(let s)) where !s.isEmpty: id = s
        case .some(.int(let i)): id = String(i)
        default: throw LaMPQADataError(file: file, record: index, field: "id", reason: "missing or not a non-empty string")
        }
        func fail(_ field: String, _ reason: String) -> LaMPQADataError {
            LaMPQADataError(file: file, record: index, id: id, field: field, reason: reason)
        }
        func text(_ key: String, required: Bool = true, in object: JSONValue? = nil, field: String? = nil) throws(LaMPQADataError) -> String {
            let name = field ?? key
            guard let v = (object ?? value)[key] else {
                if required { throw fail(name, "missing") }
                return ""
            }
            guard let s = v.stringValue else { throw fail(name, "must be a string") }
            if required && s.allSatisfy({ $0.isWhitespace }) { throw fail(name, "is empty") }
            return s
        }
        let question = try text("question")
        let narrative = try text("narrative", required: false)
        let category = try text("category", required: false)
        var profile: [ProfilePost] = []
        if let p = value["profile"], !p.isNull {
            guard let posts = p.arrayValue else { throw fail("profile", "must be an array") }
            for (k, post) in posts.enumerated() {
                guard case .object = post else { throw fail("profile[\(k)]", "must be an object") }
                let postId = post["id"].map { $0.stringValue ?? ($0.intValue.map(String.init) ?? "") } ?? ""
                profile.append(ProfilePost(
                    id: postId, category: try text("category", required: false, in: post, field: "profile[\(k)].category"),
                    text: try text("text", in: post, field: "profile[\(k)].text")))
            }
        }
        guard let rubric = value["rubric_aspects"] else { throw fail("rubric_aspects", "missing") }
        guard let list = rubric.arrayValue else { throw fail("rubric_aspects", "must be an array") }
        guard !list.isEmpty else { throw fail("rubric_aspects", "is empty: a question needs at least one aspect to be scored") }
        var aspects: [RubricAspect] = []
        for (k, a) in list.enumerated() {
            guard case .object = a else { throw fail("rubric_aspects[\(k)]", "must be an object") }
            aspects.append(RubricAspect(
                aspect: try text("aspect", in: a, field: "rubric_aspects[\(k)].aspect"),
                reason: try text("reason", required: false, in: a, field: "rubric_aspects[\(k)].reason"),
                evidence: try text("evidence", required: false, in: a, field: "rubric_aspects[\(k)].evidence")))
        }
        return LaMPQARecord(
            id: id, domain: domain, question: question, narrative: narrative, category: category, profile: profile, aspects: aspects)
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
