import JSONFiles

/// The paper's Table 2 layout: one row per condition (domains and macro average), and the
/// difference of each from a reference row (the selected intent), with a paired t-test of
/// that difference over the questions both rows scored.
public struct DeltaTable: Sendable {
    public struct Row: Sendable {
        public var name: String
        /// One per column (domains present in any row, then the macro average).
        public var values: [Double?]
        /// value − the reference row's value, per column.
        public var deltas: [Double?]
        /// Two-sided paired t-test p-value against the reference row, per column (uncorrected).
        public var pValues: [Double?]
    }
    public let columns: [String]
    public let rows: [Row]
    public let reference: Int

    public init(_ results: [MethodResult], reference: Int) {
        let domains = LaMPQADomain.allCases.filter { d in results.contains { $0.scores[d] != nil } }
        columns = domains.map(\.rawValue) + ["Macro average"]
        self.reference = reference
        func macro(_ r: MethodResult) -> Double? {
            let means = domains.map { r.mean($0) }
            return means.contains { $0 == nil } || means.isEmpty ? nil : means.compactMap { $0 }.reduce(0, +) / Double(means.count)
        }
        func paired(_ a: MethodResult, _ b: MethodResult, _ only: LaMPQADomain?) -> Double? {
            var x: [Double] = []
            var y: [Double] = []
            for d in only.map({ [$0] }) ?? domains {
                guard let sa = a.scores[d], let sb = b.scores[d] else { continue }
                for id in sa.keys.sorted() { if let va = sa[id], let vb = sb[id] { x.append(va); y.append(vb) } }
            }
            return PairedTests.tTest(x, y)
        }
        let valuesOf: (MethodResult) -> [Double?] = { r in domains.map { r.mean($0) } + [macro(r)] }
        let base = results.indices.contains(reference) ? valuesOf(results[reference]) : []
        rows = results.enumerated().map { (i, r) in
            let values = valuesOf(r)
            let deltas = values.indices.map { c -> Double? in
                guard let v = values[c], c < base.count, let b = base[c] else { return nil }
                return v - b
            }
            let p: [Double?] =
                i == reference || !results.indices.contains(reference)
                ? values.map { _ in nil } : domains.map { paired(r, results[reference], $0) } + [paired(r, results[reference], nil)]
            return Row(name: r.name, values: values, deltas: deltas, pValues: p)
        }
    }

    static func signed(_ x: Double?) -> String {
        guard let x else { return "–" }
        return (x >= 0 ? "+" : "−") + ResultsTable.format(abs(x))
    }

    public var markdown: String {
        var lines = [
            "| condition | " + columns.map { "\($0) | Δ" }.joined(separator: " | ") + " |",
            "|---|" + String(repeating: "---|---|", count: columns.count),
        ]
        for (i, row) in rows.enumerated() {
            let cells = row.values.indices.map { c in
                "\(ResultsTable.format(row.values[c])) | \(i == reference ? "(reference)" : DeltaTable.signed(row.deltas[c]))"
            }
            lines.append("| \(row.name) | " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append(
            "Δ: the condition's score minus \(rows.indices.contains(reference) ? rows[reference].name : "the reference")'s, per column.")
        return lines.joined(separator: "\n")
    }

    public var csv: String {
        var lines = ["condition," + columns.flatMap { ["\"\($0)\"", "\"\($0) delta\"", "\"\($0) p\""] }.joined(separator: ",")]
        for row in rows {
            let cells = row.values.indices.flatMap { c in
                [row.values[c], row.deltas[c], row.pValues[c]].map { $0.map { String($0) } ?? "" }
            }
            lines.append("\"\(row.name)\"," + cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    /// The table as data (intent-ablation.json).
    public struct Document: Codable, Sendable, Equatable {
        public struct Row: Codable, Sendable, Equatable {
            public var name: String
            public var values: [Double?]
            public var deltas: [Double?]
            public var tTestP: [Double?]
            enum CodingKeys: String, CodingKey {
                case name, values, deltas
                case tTestP = "t_test_p"
            }
        }
        public var columns: [String]
        public var reference: String?
        public var rows: [Row]
    }

    public var json: String {
        let document = Document(
            columns: columns, reference: rows.indices.contains(reference) ? rows[reference].name : nil,
            rows: rows.map {
                Document.Row(name: $0.name, values: $0.values.map(finite), deltas: $0.deltas.map(finite), tTestP: $0.pValues.map(finite))
            })
        return (try? JSONFile.encode(document, pretty: true)) ?? "{}"
    }
}

/// The paper's Figure 4: scores grouped by how many intents the model inferred, Low (1–2),
/// Medium (3–4) and High (5+); questions with no parsed intent are counted as "none".
public struct IntentBucketTable: Sendable {
    public static let buckets = ["none", "low", "medium", "high"]
    public static let titles = ["none (0)", "Low (1–2)", "Medium (3–4)", "High (5+)"]

    public struct Cell: Sendable, Equatable {
        public var count: Int
        public var mean: Double?
    }
    /// Domains present, then "all".
    public let groups: [String]
    /// cells[group][bucket]
    public let cells: [[Cell]]

    public static func bucket(_ count: Int) -> Int {
        switch count {
        case ..<1: 0
        case 1...2: 1
        case 3...4: 2
        default: 3
        }
    }

    /// `intentCounts`: question id → number of inferred intents; questions missing from it
    /// are left out.
    public init(intentCounts: [String: Int], scores: MethodResult) {
        let domains = LaMPQADomain.allCases.filter { scores.scores[$0] != nil }
        groups = domains.map(\.rawValue) + ["all"]
        func cells(_ ds: [LaMPQADomain]) -> [Cell] {
            var sums = [Double](repeating: 0, count: 4)
            var counts = [Int](repeating: 0, count: 4)
            for d in ds {
                for (id, score) in scores.scores[d] ?? [:] {
                    guard let n = intentCounts[id] else { continue }
                    let b = IntentBucketTable.bucket(n)
                    sums[b] += score
                    counts[b] += 1
                }
            }
            return (0..<4).map { Cell(count: counts[$0], mean: counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : nil) }
        }
        self.cells = domains.map { cells([$0]) } + [cells(domains)]
    }

    public var markdown: String {
        var lines = [
            "| domain | " + IntentBucketTable.titles.joined(separator: " | ") + " |",
            "|---|" + String(repeating: "---|", count: 4),
        ]
        for (g, name) in groups.enumerated() {
            lines.append(
                "| \(name) | " + cells[g].map { "\(ResultsTable.format($0.mean)) (n=\($0.count))" }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    public var csv: String {
        var lines = ["domain," + IntentBucketTable.buckets.flatMap { ["\($0)_mean", "\($0)_count"] }.joined(separator: ",")]
        for (g, name) in groups.enumerated() {
            lines.append("\"\(name)\"," + cells[g].flatMap { [$0.mean.map { String($0) } ?? "", String($0.count)] }.joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    /// The table as data.
    public struct Document: Codable, Sendable, Equatable {
        public struct Group: Codable, Sendable, Equatable {
            public var name: String
            public var means: [Double?]
            public var counts: [Int]
        }
        public var buckets: [String]
        public var groups: [Group]
    }

    public var json: String {
        let document = Document(
            buckets: IntentBucketTable.buckets,
            groups: groups.enumerated().map { (g, name) in
                Document.Group(name: name, means: cells[g].map { finite($0.mean) }, counts: cells[g].map(\.count))
            })
        return (try? JSONFile.encode(document, pretty: true)) ?? "{}"
    }
}
