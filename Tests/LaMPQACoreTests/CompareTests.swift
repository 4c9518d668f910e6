import Foundation
import Testing

@testable import LaMPQACore

@Suite struct PairedTestsAgainstScipy {
    struct Case: Decodable {
        let name: String
        let a: [Double]
        let b: [Double]
        let t_test_p: Double
        let wilcoxon_p: Double
    }
    struct File: Decodable { let cases: [Case] }

    @Test func pValuesMatchScipy() throws {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/rl/paired-tests.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        for c in file.cases {
            let t = try #require(PairedTests.tTest(c.a, c.b))
            let w = try #require(PairedTests.wilcoxon(c.a, c.b))
            #expect(Swift.abs(t - c.t_test_p) <= 1e-9 + 1e-6 * c.t_test_p, "\(c.name) t: \(t) vs \(c.t_test_p)")
            #expect(Swift.abs(w - c.wilcoxon_p) <= 1e-9 + 1e-6 * c.wilcoxon_p, "\(c.name) wilcoxon: \(w) vs \(c.wilcoxon_p)")
        }
        #expect(PairedTests.tTest([1], [0]) == nil && PairedTests.wilcoxon([1, 2], [1, 2]) == nil)
    }
}

@Suite struct ResultsTableTests {
    /// Hand-computed: art means A 0.5, B 0.75, C 0.75 (a tie for best); society A 1.0,
    /// B 0.5, C missing. Macro: A 0.75, B 0.625, C – (missing a domain). Method of interest A:
    /// Δ% against the strongest other row, negative where A is behind (art).
    @Test func layoutTiesAndAMissingDomain() throws {
        let a = MethodResult(name: "A", scores: [.artAndEntertainment: ["1": 0.5, "2": 0.5], .societyAndCulture: ["9": 1.0]])
        let b = MethodResult(name: "B", scores: [.artAndEntertainment: ["1": 1.0, "2": 0.5], .societyAndCulture: ["9": 0.5]])
        let c = MethodResult(name: "C", scores: [.artAndEntertainment: ["1": 0.75, "2": 0.75]])
        let table = ResultsTable([a, b, c], alpha: 0.05, interest: "A")
        #expect(table.columns.map(\.title) == ["Art_and_Entertainment", "Society_and_Culture", "Macro average"])
        let art = table.columns[0]
        #expect(art.cells.map(\.value) == [0.5, 0.75, 0.75] && art.cells.map(\.rank) == [2, 1, 1])
        #expect(art.best == [1, 2] && Swift.abs((art.delta ?? 0) + 100.0 / 3) < 1e-9 && !art.significant)
        let society = table.columns[1]
        #expect(society.cells.map(\.value) == [1.0, 0.5, nil] && society.cells.map(\.rank) == [1, 2, nil])
        #expect(society.delta == 100 && society.comparedWith == 1)
        let macro = table.columns[2]
        #expect(macro.cells.map(\.value) == [0.75, 0.625, nil])
        #expect(Swift.abs((macro.delta ?? 0) - 20) < 1e-9)
        let markdown = table.markdown
        #expect(markdown.contains("| A | <u>0.5000</u> | **1.0000** | **0.7500** |"))
        #expect(markdown.contains("| C | **0.7500** | – | – |"))
        #expect(markdown.contains("| Δ% A vs strongest other | -33.33% | 100.00% | 20.00% |"))
        #expect(table.csv.contains("delta_percent,-33.3333") && table.csv.contains(",100.0,20.0"))
        let document = table.document
        try #require(document.columns.count == 3)
        #expect(document.columns[2].comparedWith == "B" && document.columns[2].best == ["A"] && document.methods == ["A", "B", "C"])
        #expect(document.interest == "A" && table.json.contains("\"compared_with\" : \"B\""))
        // Without a name: the row named IAP (any case), else the last row.
        #expect(ResultsTable([a, b, c]).interest == 2)
        #expect(ResultsTable.interestRow(["base", "iap", "sft"], name: nil) == 1)
    }

    /// `*`: the method of interest against every other row, per column, Bonferroni over all
    /// those comparisons (columns × other rows); a row it does not beat takes the mark away.
    @Test func significanceIsOverEveryOtherRowBonferroniCorrected() throws {
        var better: [String: Double] = [:]
        var worse: [String: Double] = [:]
        var shuffled: [String: Double] = [:]
        for i in 0..<40 {
            better["\(i)"] = 0.6 + Double(i % 5) * 0.05
            worse["\(i)"] = 0.3 + Double(i % 7) * 0.03
            shuffled["\(i)"] = 0.6 + Double((i + 1) % 5) * 0.05  // same mean as `better`
        }
        let iap = MethodResult(name: "IAP", scores: [.artAndEntertainment: better, .lifestyleAndPersonalDevelopment: better])
        let base = MethodResult(name: "base", scores: [.artAndEntertainment: worse, .lifestyleAndPersonalDevelopment: worse])
        let two = ResultsTable([base, iap])
        #expect(two.interest == 1 && two.columns.allSatisfy(\.significant))
        let raw = try #require(PairedTests.tTest(better.keys.sorted().map { better[$0]! }, better.keys.sorted().map { worse[$0]! }))
        // 3 columns (two domains and the macro) × 1 other row.
        #expect(two.columns[0].comparisons.first?.tTestP == min(1, raw * 3))
        #expect(two.markdown.contains("**0.7000***"))
        let tied = MethodResult(name: "tied", scores: [.artAndEntertainment: shuffled, .lifestyleAndPersonalDevelopment: shuffled])
        let three = ResultsTable([base, tied, iap])
        #expect(three.columns[0].comparisons.map(\.other) == [0, 1])
        #expect(three.columns[0].comparisons[0].tTestP == min(1, raw * 6))
        #expect(!three.columns.contains(where: \.significant) && !three.markdown.contains("0.7000***"))
        #expect(ResultsTable([base, iap], test: .wilcoxon).columns[0].significant)
    }

    /// A lead over a zero score is an infinite Δ%: the JSON table writes no value for it
    /// (JSON has no infinity) instead of failing as a whole.
    @Test func jsonTableWithAnInfiniteDelta() {
        let a = MethodResult(name: "A", scores: [.artAndEntertainment: ["1": 0.5]])
        let b = MethodResult(name: "B", scores: [.artAndEntertainment: ["1": 0.0]])
        let table = ResultsTable([a, b], interest: "A")
        #expect(table.columns.first?.delta == .infinity)
        #expect(table.json.contains("\"methods\"") && !table.json.contains("delta_percent"))
    }
}
