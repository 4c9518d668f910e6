import Foundation
import Testing

@testable import LaMPQACore

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let sampleFolder = repositoryRoot.appendingPathComponent("data/sample").path

func scratchFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-lampqa-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func write(_ text: String, to path: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

@Suite struct LaMPQADataTests {
    /// The bundled sample has the benchmark's layout and the sizes the issue asks for.
    @Test(arguments: LaMPQASplit.allCases)
    func bundledSampleLoads(split: LaMPQASplit) throws {
        var options = LaMPQADataset.Options()
        options.split = split
        let data = try LaMPQADataset(folder: sampleFolder, options: options)
        let minimum = ["train": 20, "validation": 5, "test": 10][split.rawValue]!
        for domain in LaMPQADomain.allCases {
            let records = data.records(in: domain)
            #expect(records.count >= minimum)
            for r in records {
                #expect(r.id.hasPrefix("\(domain.index)_"))
                let words = r.narrative.split(separator: " ").count
                #expect((100...170).contains(words), "\(r.id): \(words) words")
                #expect(r.profile.count >= 5)
                #expect((3...5).contains(r.aspects.count))
                for a in r.aspects { #expect(r.narrative.contains(a.evidence), "\(r.id): evidence is a span of the narrative") }
            }
        }
    }

    @Test func limitsSamplesAndDomains() throws {
        var options = LaMPQADataset.Options()
        options.domains = [.societyAndCulture]
        options.split = .train
        options.limit = 5
        let first = try LaMPQADataset(folder: sampleFolder, options: options)
        #expect(first.records.map(\.id) == (0..<5).map { "2_0_\($0)" })
        options.sampleSeed = 7
        let a = try LaMPQADataset(folder: sampleFolder, options: options)
        let b = try LaMPQADataset(folder: sampleFolder, options: options)
        #expect(a.records == b.records && a.records.count == 5)
        #expect(a.records.map(\.id) != first.records.map(\.id))
        #expect(LaMPQADomain(name: "art") == .artAndEntertainment && LaMPQADomain(name: "Society_and_Culture") == .societyAndCulture)
    }

    /// Errors name the file, the record and the field; a bad record can be skipped with a warning.
    @Test func validationNamesFileRecordAndField() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good =
            #"{"id": "0_2_0", "question": "Q?", "narrative": "N", "category": "music", "profile": [], "rubric_aspects": [{"aspect": "A", "reason": "R", "evidence": "N"}]}"#
        let cases: [(String, String)] = [
            (#"[\#(good), {"id": "0_2_1", "question": "Q2", "narrative": "N"}]"#, "record 1 (id 0_2_1), field rubric_aspects: missing"),
            (#"[{"id": "0_2_0", "question": "  ", "rubric_aspects": []}]"#, "field question: is empty"),
            (#"[{"id": "0_2_0", "question": "Q", "rubric_aspects": [{"reason": "R"}]}]"#, "field rubric_aspects[0].aspect: missing"),
            (#"[{"id": "0_2_0", "question": 5, "rubric_aspects": []}]"#, "field question: must be a string"),
            (#"[\#(good), \#(good)]"#, "field id: appears twice"),
            (#"{"not": "an array"}"#, "expected a JSON array"),
            (#"[{"id": "x", "question": "Q", "rubric_aspects": [], "profile": [{"text": 3}]}]"#, "profile[0].text: must be a string"),
        ]
        var options = LaMPQADataset.Options()
        options.domains = [.artAndEntertainment]
        for (content, message) in cases {
            try write(content, to: folder + "/Art_and_Entertainment_test.json")
            #expect { try LaMPQADataset(folder: folder, options: options) } throws: { error in
                "\(error)".contains("Art_and_Entertainment_test.json") && "\(error)".contains(message)
            }
        }
        try write(#"[\#(good), {"id": "0_2_1", "question": "Q2"}]"#, to: folder + "/Art_and_Entertainment_test.json")
        options.skipInvalid = true
        let skipped = try LaMPQADataset(folder: folder, options: options)
        #expect(skipped.records.count == 1 && skipped.warnings.count == 1 && skipped.warnings[0].contains("0_2_1"))
        // JSONL works too; a missing file names what was looked for.
        try FileManager.default.removeItem(atPath: folder + "/Art_and_Entertainment_test.json")
        #expect { try LaMPQADataset(folder: folder, options: options) } throws: {
            "\($0)".contains("Art_and_Entertainment_test.json: missing")
        }
        try write(
            good + "\n\n" + good.replacingOccurrences(of: "0_2_0", with: "0_2_1") + "\n", to: folder + "/Art_and_Entertainment_test.jsonl")
        #expect(try LaMPQADataset(folder: folder, options: options).records.count == 2)
    }

    @Test func policyInputModes() throws {
        let record = LaMPQARecord(
            id: "1", domain: .artAndEntertainment, question: "How?", narrative: "I am new.", category: "music",
            profile: [ProfilePost(id: "a", category: "music", text: "first"), ProfilePost(id: "b", category: "music", text: "second")],
            aspects: [])
        #expect(try PolicyInputBuilder(mode: .questionOnly).render(record) == "Question: How?")
        #expect(try PolicyInputBuilder(mode: .questionAndNarrative).render(record) == "Question: How?\n\nAbout me: I am new.")
        let reversed = PolicyInputBuilder(mode: .withProfile(k: 1, withNarrative: false)) { _, posts in Array(posts.indices.reversed()) }
        #expect(try reversed.render(record) == "Question: How?\n\nMy earlier posts:\n1. second")
        #expect(PolicyInputMode(name: "narrative+profile:10") == .withProfile(k: 10, withNarrative: true))
        #expect(PolicyInputMode(name: "profile:x") == nil)
    }
}
