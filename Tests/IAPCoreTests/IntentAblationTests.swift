import LaMPQACore
import Testing

@testable import IAPCore

@Suite struct IntentAblationTests {
    func record(_ id: String, _ domain: LaMPQADomain, category: String = "") -> LaMPQARecord {
        LaMPQARecord(id: id, domain: domain, question: "q \(id)", narrative: "", category: category, profile: [], aspects: [])
    }

    /// Issue 14: with a category on every record, "same category" is the record's category
    /// (two categories inside one domain never mix); without, the domain.
    @Test func randomIntentsFollowTheRecordsCategoryWhereTheDataHasOne() {
        let records = [
            record("m1", .artAndEntertainment, category: "music"), record("m2", .artAndEntertainment, category: "music"),
            record("g1", .artAndEntertainment, category: "gaming"), record("g2", .artAndEntertainment, category: "gaming"),
        ]
        let intents = ["m1": ["M1"], "m2": ["M2"], "g1": ["G1"], "g2": ["G2"]]
        #expect(IntentGrouping.choose(records) == .category)
        #expect(IntentGrouping.choose(records + [record("x", .artAndEntertainment)]) == .domain)
        for seed in UInt64(0)..<10 {
            let inGroup = IntentCondition.inGroupRandom.assignments(records: records, intents: intents, seed: seed)!
            #expect(inGroup == ["m1": ["M2"], "m2": ["M1"], "g1": ["G2"], "g2": ["G1"]])
            let cross = IntentCondition.crossGroupRandom.assignments(records: records, intents: intents, seed: seed)!
            #expect(cross["m1"]!.first!.hasPrefix("G") && cross["g2"]!.first!.hasPrefix("M"))
        }
        #expect(IntentGrouping.category.note.contains("category") && IntentGrouping.domain.note.contains("domain"))
    }

    @Test func randomIntentsComeFromTheRightGroup() {
        let records = [
            record("a1", .artAndEntertainment), record("a2", .artAndEntertainment), record("a3", .artAndEntertainment),
            record("l1", .lifestyleAndPersonalDevelopment), record("l2", .lifestyleAndPersonalDevelopment),
            record("s1", .societyAndCulture),
        ]
        let intents = ["a1": ["A1"], "a2": ["A2"], "a3": [], "l1": ["L1"], "l2": ["L2", "L2b"], "s1": ["S1"]]
        #expect(IntentCondition.noIntent.assignments(records: records, intents: intents, seed: 0) == nil)
        #expect(IntentCondition.selected.assignments(records: records, intents: intents, seed: 0) == intents)
        for seed in UInt64(0)..<20 {
            let inGroup = IntentCondition.inGroupRandom.assignments(records: records, intents: intents, seed: seed)!
            #expect(inGroup["a1"] == ["A2"] && inGroup["a2"] == ["A1"])  // never itself, never an empty list
            #expect(inGroup["a3"] == ["A1"] || inGroup["a3"] == ["A2"])
            #expect(inGroup["l1"] == ["L2", "L2b"] && inGroup["l2"] == ["L1"])
            #expect(inGroup["s1"] == [])  // no other society question with intents
            let cross = IntentCondition.crossGroupRandom.assignments(records: records, intents: intents, seed: seed)!
            for r in records {
                let source = intents.first { $0.value == cross[r.id] && !$0.value.isEmpty }?.key
                let domain = records.first { $0.id == source }?.domain
                #expect(domain != nil && domain != r.domain, "\(r.id) got \(cross[r.id] ?? [])")
            }
        }
        // Fixed by the seed.
        #expect(
            IntentCondition.crossGroupRandom.assignments(records: records, intents: intents, seed: 3)
                == IntentCondition.crossGroupRandom.assignments(records: records, intents: intents, seed: 3))
    }
}
