import Foundation
import JSONFiles
import FileIO

/// One method's per-question scores (from `iap evaluate` outputs).
public struct MethodResult: Sendable {
    public var name: String
    /// Question id → score, per domain.
    public var scores: [LaMPQADomain: [String: Double]]
    public init(name: String, scores: [LaMPQADomain: [String: Double]]) {
        self.name = name
        self.scores = scores
    }

    public func mean(_ domain: LaMPQADomain) -> Double? {
        guard let s = scores[domain], !s.isEmpty else { return nil }
        return s.values.reduce(0, +) / Double(s.count)
    }
}

/// The paper's Table 1: rows = methods, columns = domains and the macro average; in every
/// column the best value in bold and the second underlined (ties share the mark), the Δ% of
/// the best over the strongest other method, and significance of that difference from paired
/// per-question tests (t-test, Wilcoxon) with Bonferroni correction over the columns.
public struct ResultsTable: Sendable {
    public struct Cell: Sendable, Equatable {
        public var value: Double?
        public var rank: Int?  // 1 best, 2 second
    }
    public struct Column: Sendable {
        public var title: String
        public var cells: [Cell]  // one per method
        /// (best − strongest other) / strongest other × 100.
        public var delta: Double?
        /// Bonferroni-corrected p-values of best vs strongest other.
        public var tTestP: Double?
        public var wilcoxonP: Double?
        public var best: [Int]
        public var comparedWith: Int?
    }

    public let methods: [String]
    public let columns: [Column]
    public let alpha: Double

    public init(_ results: [MethodResult], alpha: Double = 0.01) {
        methods = results.map(\.name)
        self.alpha = alpha
        let domains = LaMPQADomain.allCases.filter { d in results.contains { $0.scores[d] != nil } }
        var columns: [Column] = []
        // Per-question pairs for a column: domain columns pair by id; the macro column pools all domains.
        func pairs(_ a: MethodResult, _ b: MethodResult, _ domain: LaMPQADomain?) -> ([Double], [Double]) {
            var x: [Double] = []
            var y: [Double] = []
            for d in domain.map({ [$0] }) ?? domains {
                guard let sa = a.scores[d], let sb = b.scores[d] else { continue }
                for id in sa.keys.sorted() { if let vb = sb[id] { x.append(sa[id]!); y.append(vb) } }
            }
            return (x, y)
        }
        let comparisons = Double(domains.count + (domains.count > 1 ? 1 : 0))
        for domain in domains.map({ Optional($0) }) + (domains.count > 1 ? [nil] : []) {
            let values: [Double?] = results.map { r in
                guard let domain else {
                    let means = domains.map { r.mean($0) }
                    return means.contains { $0 == nil } ? nil : means.compactMap { $0 }.reduce(0, +) / Double(domains.count)
                }
                return r.mean(domain)
            }
            let distinct = Array(Set(values.compactMap { $0 })).sorted(by: >)
            var cells = values.map { Cell(value: $0, rank: nil) }
            for i in cells.indices {
                if let v = values[i], let position = distinct.firstIndex(of: v), position < 2 { cells[i].rank = position + 1 }
            }
            let best = values.indices.filter { values[$0] != nil && values[$0] == distinct.first }
            var column = Column(
                title: domain?.rawValue ?? "Macro average", cells: cells, delta: nil, tTestP: nil, wilcoxonP: nil, best: best, comparedWith: nil)
            if best.count == 1, distinct.count >= 2 {
                let top = best[0]
                let other = values.indices.first { values[$0] == distinct[1] }!
                column.comparedWith = other
                column.delta = (distinct[0] - distinct[1]) / distinct[1] * 100
                let (x, y) = pairs(results[top], results[other], domain)
                column.tTestP = PairedTests.tTest(x, y).map { min(1, $0 * comparisons) }
                column.wilcoxonP = PairedTests.wilcoxon(x, y).map { min(1, $0 * comparisons) }
            } else if best.count > 1 {
                column.delta = 0
            }
            columns.append(column)
        }
        self.columns = columns
    }

    /// Four decimals (0.4497), "–" for a missing value.
    public static func format(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "–" }
        if x < 0 && Int((x * 10000).rounded()) != 0 { return "−" + format(-x) }
        let scaled = Int((x * 10000).rounded())
        let text = String(scaled)
        let padded = String(repeating: "0", count: max(0, 5 - text.count)) + text
        return String(padded.dropLast(4)) + "." + String(padded.suffix(4))
    }

    /// † t-test, ‡ Wilcoxon: corrected p < α for the best method over the strongest other.
    public func marks(_ column: Column) -> String {
        var m = ""
        if let p = column.tTestP, p < alpha { m += "†" }
        if let p = column.wilcoxonP, p < alpha { m += "‡" }
        return m
    }

    public var markdown: String {
        var lines = ["| method | " + columns.map(\.title).joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: columns.count)]
        for (m, name) in methods.enumerated() {
            var row = "| \(name) |"
            for column in columns {
                let cell = column.cells[m]
                var text = ResultsTable.format(cell.value)
                if column.best.contains(m) && column.best.count == 1 { text += marks(column) }
                switch cell.rank {
                case 1: text = "**\(text)**"
                case 2: text = "<u>\(text)</u>"
                default: break
                }
                row += " \(text) |"
            }
            lines.append(row)
        }
        lines.append("| Δ% best vs next |" + columns.map { " \($0.delta.map { String(format: "%.2f%%", $0) } ?? "–") |" }.joined())
        lines.append("")
        lines.append("Bold: best; underlined: second. † / ‡: the best method's lead over the next is significant by a paired t-test / Wilcoxon signed-rank test over questions, Bonferroni-corrected over \(columns.count) columns, α = \(alpha).")
        return lines.joined(separator: "\n")
    }

    public var csv: String {
        var lines = ["method," + columns.map(\.title).joined(separator: ",")]
        for (m, name) in methods.enumerated() {
            lines.append("\"\(name)\"," + columns.map { $0.cells[m].value.map { String($0) } ?? "" }.joined(separator: ","))
        }
        lines.append("delta_percent," + columns.map { $0.delta.map { String($0) } ?? "" }.joined(separator: ","))
        lines.append("t_test_p_bonferroni," + columns.map { $0.tTestP.map { String($0) } ?? "" }.joined(separator: ","))
        lines.append("wilcoxon_p_bonferroni," + columns.map { $0.wilcoxonP.map { String($0) } ?? "" }.joined(separator: ","))
        return lines.joined(separator: "\n")
    }

    /// The table as data (`iap compare --format json`).
    public struct Document: Codable, Sendable, Equatable {
        public struct Column: Codable, Sendable, Equatable {
            public var title: String
            public var values: [Double?]
            public var ranks: [Int?]
            public var best: [String]
            public var comparedWith: String?
            public var deltaPercent: Double?
            public var tTestPBonferroni: Double?
            public var wilcoxonPBonferroni: Double?

            enum CodingKeys: String, CodingKey {
                case title, values, ranks, best
                case comparedWith = "compared_with"
                case deltaPercent = "delta_percent"
                case tTestPBonferroni = "t_test_p_bonferroni"
                case wilcoxonPBonferroni = "wilcoxon_p_bonferroni"
            }
        }
        public var methods: [String]
        public var alpha: Double
        public var columns: [Column]
    }

    public var document: Document {
        Document(methods: methods, alpha: alpha, columns: columns.map { c in
            Document.Column(
                title: c.title, values: c.cells.map { finite($0.value) }, ranks: c.cells.map(\.rank), best: c.best.map { methods[$0] },
                comparedWith: c.comparedWith.map { methods[$0] }, deltaPercent: finite(c.delta), tTestPBonferroni: finite(c.tTestP),
                wilcoxonPBonferroni: finite(c.wilcoxonP))
        })
    }

    /// `document` as pretty JSON.
    public var json: String { (try? JSONFile.encode(document, pretty: true)) ?? "{}" }

    /// Reads an `iap evaluate` output folder (its `*.scores.json` files); an incomplete
    /// evaluation only when `allowIncomplete`.
    public static func load(folder: String, name: String? = nil, allowIncomplete: Bool = false) throws(LaMPQADataError) -> MethodResult {
        try EvaluationFolder(path: folder).methodResult(name: name, allowIncomplete: allowIncomplete)
    }
}

/// JSON has no infinity or NaN (a Δ% over a zero score is infinite): such values are null.
func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }
