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
/// column the best value in bold and the second underlined (ties share the mark). One row is
/// the method of interest (the paper's IAP): its Δ% against the strongest other row (negative
/// when it loses), and `*` where it is significantly better than every other row — paired
/// per-question tests of it against each other row in each column, Bonferroni-corrected over
/// all those comparisons (columns × other rows), p < α.
public struct ResultsTable: Sendable {
    public struct Cell: Sendable, Equatable {
        public var value: Double?
        public var rank: Int?  // 1 best, 2 second
    }
    /// The method of interest against one other row in one column.
    public struct Comparison: Sendable, Equatable {
        public var other: Int
        /// Bonferroni-corrected p-values (nil: too few pairs, or no difference at all).
        public var tTestP: Double?
        public var wilcoxonP: Double?
    }
    public struct Column: Sendable {
        public var title: String
        public var cells: [Cell]  // one per method
        public var best: [Int]
        /// The strongest row other than the method of interest.
        public var comparedWith: Int?
        /// (interest − strongest other) / strongest other × 100.
        public var delta: Double?
        public var comparisons: [Comparison]
        /// The method of interest leads every other row, each lead significant.
        public var significant: Bool
    }
    /// Which paired test decides `*`.
    public enum SignificanceTest: String, Sendable, CaseIterable {
        case tTest = "t-test", wilcoxon
    }

    public let methods: [String]
    public let columns: [Column]
    public let alpha: Double
    /// Row index of the method of interest.
    public let interest: Int
    public let test: SignificanceTest

    /// `interest`: the row of that name; default the row named IAP (any case), else the last row.
    public init(_ results: [MethodResult], alpha: Double = 0.01, interest name: String? = nil, test: SignificanceTest = .tTest) {
        methods = results.map(\.name)
        self.alpha = alpha
        self.test = test
        let row = ResultsTable.interestRow(results.map(\.name), name: name)
        interest = row
        let domains = LaMPQADomain.allCases.filter { d in results.contains { $0.scores[d] != nil } }
        let keys: [LaMPQADomain?] = domains.map { Optional($0) } + (domains.count > 1 ? [nil] : [])
        let comparisons = Double(keys.count * max(1, results.count - 1))
        columns = keys.map { domain in
            ResultsTable.column(
                results, domain: domain, domains: domains, interest: row, corrections: comparisons, alpha: alpha, test: test)
        }
    }

    /// The row named `name`, else the one named IAP (any case), else the last.
    public static func interestRow(_ methods: [String], name: String?) -> Int {
        if let name, let i = methods.firstIndex(of: name) { return i }
        return methods.firstIndex { $0.lowercased() == "iap" } ?? max(0, methods.count - 1)
    }

    /// Per-question pairs of two methods: a domain pairs by id; the macro column (nil) pools all domains.
    static func pairs(_ a: MethodResult, _ b: MethodResult, _ domain: LaMPQADomain?, domains: [LaMPQADomain]) -> ([Double], [Double]) {
        var x: [Double] = []
        var y: [Double] = []
        for d in domain.map({ [$0] }) ?? domains {
            guard let sa = a.scores[d], let sb = b.scores[d] else { continue }
            for (id, va) in sa.sorted(by: { $0.key < $1.key }) { if let vb = sb[id] { x.append(va); y.append(vb) } }
        }
        return (x, y)
    }

    /// One column: values and ranks, Δ% and the tests of the method of interest.
    static func column(
        _ results: [MethodResult], domain: LaMPQADomain?, domains: [LaMPQADomain], interest: Int, corrections: Double, alpha: Double,
        test: SignificanceTest
    ) -> Column {
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
        var column = Column(
            title: domain?.rawValue ?? "Macro average", cells: cells,
            best: values.indices.filter { values[$0] != nil && values[$0] == distinct.first },
            comparedWith: nil, delta: nil, comparisons: [], significant: false)
        guard interest < results.count, let own = values[interest] else { return column }
        let others = values.indices.filter { $0 != interest && values[$0] != nil }
        if let strongest = others.max(by: { values[$0]! < values[$1]! }), let value = values[strongest] {
            column.comparedWith = strongest
            column.delta = (own - value) / value * 100
        }
        column.comparisons = others.map { other in
            let (x, y) = pairs(results[interest], results[other], domain, domains: domains)
            return Comparison(
                other: other, tTestP: PairedTests.tTest(x, y).map { min(1, $0 * corrections) },
                wilcoxonP: PairedTests.wilcoxon(x, y).map { min(1, $0 * corrections) })
        }
        column.significant =
            !others.isEmpty
            && column.comparisons.allSatisfy { c in
                guard let p = test == .tTest ? c.tTestP : c.wilcoxonP, let theirs = values[c.other] else { return false }
                return own > theirs && p < alpha
            }
        return column
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

    /// `*` on the method of interest's cell where it is significantly better than every other row.
    public func mark(_ column: Column, row: Int) -> String { row == interest && column.significant ? "*" : "" }

    /// The sentence under the table.
    public var caption: String {
        "Bold: best; underlined: second. *: \(methods.isEmpty ? "" : methods[interest]) is significantly better than every other row "
            + "(paired \(test == .tTest ? "t-test" : "Wilcoxon signed-rank test") over questions, Bonferroni-corrected over "
            + "\(columns.count * max(1, methods.count - 1)) comparisons, p < \(alpha)). Δ%: \(methods.isEmpty ? "" : methods[interest]) "
            + "vs the strongest other row (negative when it is behind)."
    }

    public var markdown: String {
        var lines = [
            "| method | " + columns.map(\.title).joined(separator: " | ") + " |",
            "|---|" + String(repeating: "---|", count: columns.count),
        ]
        for (m, name) in methods.enumerated() {
            var row = "| \(name) |"
            for column in columns {
                let cell = column.cells[m]
                var text = ResultsTable.format(cell.value) + mark(column, row: m)
                switch cell.rank {
                case 1: text = "**\(text)**"
                case 2: text = "<u>\(text)</u>"
                default: break
                }
                row += " \(text) |"
            }
            lines.append(row)
        }
        lines.append(
            "| Δ% \(methods.isEmpty ? "" : methods[interest]) vs strongest other |"
                + columns.map { " \($0.delta.map { String(format: "%.2f%%", $0) } ?? "–") |" }.joined())
        lines.append("")
        lines.append(caption)
        return lines.joined(separator: "\n")
    }

    public var csv: String {
        var lines = ["method," + columns.map(\.title).joined(separator: ",")]
        for (m, name) in methods.enumerated() {
            lines.append("\"\(name)\"," + columns.map { $0.cells[m].value.map { String($0) } ?? "" }.joined(separator: ","))
        }
        lines.append("delta_percent," + columns.map { $0.delta.map { String($0) } ?? "" }.joined(separator: ","))
        lines.append("significant," + columns.map { String($0.significant) }.joined(separator: ","))
        for other in methods.indices where other != interest {
            for (label, pick) in [("t_test_p_bonferroni", \Comparison.tTestP), ("wilcoxon_p_bonferroni", \Comparison.wilcoxonP)] {
                let ps = columns.map { c in c.comparisons.first { $0.other == other }.flatMap { $0[keyPath: pick] }.map { String($0) } ?? ""
                }
                lines.append("\"\(label) vs \(methods[other])\"," + ps.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The table as data (`iap compare --format json`).
    public struct Document: Codable, Sendable, Equatable {
        public struct Comparison: Codable, Sendable, Equatable {
            public var method: String
            public var tTestPBonferroni: Double?
            public var wilcoxonPBonferroni: Double?

            enum CodingKeys: String, CodingKey {
                case method
                case tTestPBonferroni = "t_test_p_bonferroni"
                case wilcoxonPBonferroni = "wilcoxon_p_bonferroni"
            }
        }
        public struct Column: Codable, Sendable, Equatable {
            public var title: String
            public var values: [Double?]
            public var ranks: [Int?]
            public var best: [String]
            public var comparedWith: String?
            public var deltaPercent: Double?
            public var significant: Bool
            public var comparisons: [Comparison]

            enum CodingKeys: String, CodingKey {
                case title, values, ranks, best, significant, comparisons
                case comparedWith = "compared_with"
                case deltaPercent = "delta_percent"
            }
        }
        public var methods: [String]
        public var interest: String
        public var test: String
        public var alpha: Double
        public var columns: [Column]
    }

    public var document: Document {
        Document(
            methods: methods, interest: methods.isEmpty ? "" : methods[interest], test: test.rawValue, alpha: alpha,
            columns: columns.map { c in
                Document.Column(
                    title: c.title, values: c.cells.map { finite($0.value) }, ranks: c.cells.map(\.rank), best: c.best.map { methods[$0] },
                    comparedWith: c.comparedWith.map { methods[$0] }, deltaPercent: finite(c.delta), significant: c.significant,
                    comparisons: c.comparisons.map {
                        Document.Comparison(
                            method: methods[$0.other], tTestPBonferroni: finite($0.tTestP), wilcoxonPBonferroni: finite($0.wilcoxonP))
                    })
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
