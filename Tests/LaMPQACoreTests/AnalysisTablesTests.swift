@testable import LaMPQACore
import Testing

/// Table 2 (differences from the selected intent) and Figure 4 (intent-count buckets) on
/// hand-computed examples.
@Suite struct AnalysisTablesTests {
    let art = LaMPQADomain.artAndEntertainment
    let life = LaMPQADomain.lifestyleAndPersonalDevelopment

    @Test func deltaTableSubtractsTheReferenceRow() {
        let selected = MethodResult(name: "selected", scores: [art: ["a": 0.6, "b": 0.4], life: ["c": 0.8, "d": 0.6]])
        let none = MethodResult(name: "none", scores: [art: ["a": 0.3, "b": 0.3], life: ["c": 0.5, "d": 0.7]])
        // A condition missing a domain: no value there, no macro.
        let partial = MethodResult(name: "partial", scores: [art: ["a": 0.5, "b": 0.5]])
        let table = DeltaTable([none, partial, selected], reference: 2)
        #expect(table.columns == [art.rawValue, life.rawValue, "Macro average"])
        // selected: art 0.5, life 0.7, macro 0.6; none: art 0.3, life 0.6, macro 0.45.
        let row = table.rows[0]
        #expect(abs(row.values[0]! - 0.3) < 1e-12 && abs(row.values[1]! - 0.6) < 1e-12 && abs(row.values[2]! - 0.45) < 1e-12)
        #expect(abs(row.deltas[0]! + 0.2) < 1e-12 && abs(row.deltas[1]! + 0.1) < 1e-12 && abs(row.deltas[2]! + 0.15) < 1e-12)
        #expect(table.rows[1].values[1] == nil && table.rows[1].values[2] == nil && table.rows[1].deltas[2] == nil)
        #expect(abs(table.rows[1].deltas[0]! - 0) < 1e-12)
        #expect(table.rows[2].deltas.allSatisfy { $0 == 0 } && table.rows[2].pValues.allSatisfy { $0 == nil })
        #expect(table.markdown.contains("| none | 0.3000 | −0.2000 | 0.6000 | −0.1000 | 0.4500 | −0.1500 |"))
        #expect(table.markdown.contains("(reference)"))
        #expect(table.csv.split(separator: "\n").count == 4)
    }

    @Test func bucketsFollowThePaper() {
        #expect([0, 1, 2, 3, 4, 5, 9].map(IntentBucketTable.bucket) == [0, 1, 1, 2, 2, 3, 3])
        let scores = MethodResult(name: "iap", scores: [art: ["a": 0.2, "b": 0.4, "c": 0.9], life: ["d": 0.5, "e": 1.0]])
        let counts = ["a": 1, "b": 2, "c": 6, "d": 3, "e": 0]
        let table = IntentBucketTable(intentCounts: counts, scores: scores)
        #expect(table.groups == [art.rawValue, life.rawValue, "all"])
        #expect(
            table.cells[0] == [
                .init(count: 0, mean: nil), .init(count: 2, mean: 0.30000000000000004), .init(count: 0, mean: nil),
                .init(count: 1, mean: 0.9),
            ])
        #expect(table.cells[2].map(\.count) == [1, 2, 1, 1])
        #expect(abs(table.cells[2][1].mean! - 0.3) < 1e-12 && table.cells[2][0].mean == 1.0 && table.cells[2][2].mean == 0.5)
        #expect(table.markdown.contains("| all | 1.0000 (n=1) | 0.3000 (n=2) | 0.5000 (n=1) | 0.9000 (n=1) |"))
    }
}
