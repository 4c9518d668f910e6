import Foundation
import ModelFormats
import ModelStore
import Testing
import Transformers
import LaMPQACore

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
            tailored[r.id] = r.aspects.map { "Because \($0.reason.lowercased()) here is advice on \($0.aspect.lowercased())." }.joined(
                separator: " ")
            generic[r.id] = "There are many ways to approach this. Do some research and pick what feels right."
        }
        let good = try await Evaluator(judge: judge, cache: nil).evaluate(records: data.records, responses: tailored)
        let bad = try await Evaluator(judge: judge, cache: nil).evaluate(records: data.records, responses: generic)
        #expect((good.macro ?? 0) > 0.8 && (bad.macro ?? 1) < 0.2, "tailored \(good.macro ?? -1), generic \(bad.macro ?? -1)")
        #expect(EmbeddingJudge.sentences("One. Two!\nThree? four") == ["One.", "Two!", "Three?", "four"])
    }
}

@Suite struct LocalJudgeAndRankerTests {
    /// The in-process LLM judge runs end to end: one verdict per item, each a score or an
    /// unusable answer (SmolLM2-135M rarely writes the JSON), never a crash.
    @Test func localJudgeGivesOneVerdictPerItem() async throws {
        let files = try ModelFiles(path: ModelStore().resolve("smollm2-135m-instruct", pull: false).path)
        let backend = LocalChatBackend(
            model: try CausalLM.load(files), tokenizer: try files.loadTokenizer(), template: try files.chatTemplate(), name: "smollm2")
        let judge = LLMRubricJudge(backend: backend, maxTokens: 16)
        let items = (0..<3).map { n in
            JudgeItem(
                questionId: "\(n)", question: "How do I start running?", details: "I have a bad knee.", response: "Try swimming.",
                aspectIndex: 0, aspect: RubricAspect(aspect: "Knee", reason: "injury", evidence: "bad knee"))
        }
        let verdicts = await judge.judge(items, temperature: 0)
        #expect(verdicts.count == 3)
        #expect(verdicts.allSatisfy { if case .failed = $0 { false } else { true } })
        #expect(judge.identity == "llm:local:smollm2:top_p=0.95" && !judge.isProxy)
    }

    @Test func encoderRanksRelevantPostsFirst() throws {
        let files = try ModelFiles(path: ModelStore().resolve("all-minilm-l6-v2", pull: false).path)
        let rank = PolicyInputBuilder.encoderRanker(try BertEncoder.load(files), tokenizer: try files.loadTokenizer())
        let order = try rank(
            "How do I keep my sourdough starter alive?",
            [
                "Which football team won the league?", "My bread starter smells strange after a week in the fridge.",
                "Tips for tax returns",
            ])
        #expect(order.first == 1)
    }
}
