import LaMPQACore
import Testing

@testable import IAPCore

@Suite struct IntentAblationTests {
    func record(_ id: String, _ domain: LaMPQADomain) -> LaMPQARecord {
        LaMPQARecord(id: id, domain: domain, question: "q \(id)", narrative: "", category: "", profile: [], aspects: [])
    }

    @Test func randomIntentsComeFromTheRightGroup() {
        let records = [
            record("a1", .artAndEntertainment), record("a2", .artAndEntertainment), record("a3", .artAndEntertainment),
            record("l1", .lifestyleAndPersonalDevelopment), record("l2", .lifestyleAndPersonalDevelopment), record("s1", .societyAndCulture),
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
