import Foundation
import ModelFormats
import ModelStore
import Testing
import Transformers

@testable import LaMPQA

@Suite struct EmbeddingJudgeTests {
    /// Answers that address the aspects score far above a generic answer on the sample.
    @Test func tailoredAnswersBeatGenericOnes() async throws {
        let files = try ModelFiles(path: ModelStore().resolve("all-minilm-l6-v2", pull: false).path)
        let judge = EmbeddingJudge(encoder: try BertEncoder.load(files), tokenizer: try files.loadTokenizer(), name: "minilm")
        #expect(judge.isProxy && judge.identity.hasPrefix("embedding:"))
        var options = LaMPQADataset.Options()
        options.limit = 4
        let data = try LaMPQADataset(folder: sampleFolder, options: options)
        var tailored: [String: String] = [:]
        var generic: [String: String] = [:]
        for r in data.records {
            tailored[r.id] = r.aspects.map { "Because \($0.reason.lowercased()) here is advice on \($0.aspect.lowercased())." }.joined(separator: " ")
            generic[r.id] = "There are many ways to approach this. Do some research and pick what feels right."
        }
        let good = try await Evaluator(judge: judge, cache: nil).evaluate(records: data.records, responses: tailored)
        let bad = try await Evaluator(judge: judge, cache: nil).evaluate(records: data.records, responses: generic)
        #expect((good.macro ?? 0) > 0.8 && (bad.macro ?? 1) < 0.2, "tailored \(good.macro ?? -1), generic \(bad.macro ?? -1)")
        #expect(EmbeddingJudge.sentences("One. Two!\nThree? four") == ["One.", "Two!", "Three?", "four"])
    }
}
