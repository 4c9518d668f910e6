import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Issue 14 item 1: the sampler writes the blocks' tags, the model only their contents.
@Suite struct ScaffoldTests {
    static let scaffold = BlockScaffold(
        blocks: [
            .init(opening: "<think>\n", closing: "</think>", budget: 5), .init(opening: "<intent>\n", closing: "</intent>", budget: 7),
            .init(opening: "<think>\n", closing: "</think>", budget: 3), .init(opening: "<answer>\n", closing: "</answer>", budget: 9),
        ], separator: "\n")

    /// The tags appear in order, written tokens are marked, every block stays within its
    /// budget, and the log-probs reported while sampling — of written and sampled tokens —
    /// equal those of a training forward over the whole sequence.
    @Test func tagsAreWrittenAndLogProbsMatchTheTrainingForward() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompts = Array(try GenerationTests.promptIds().prefix(2))
        var options = GenerationOptions()
        options.temperature = 0.9
        options.maxNewTokens = 120
        options.samplesPerPrompt = 3
        options.seed = 5
        options.scaffold = Self.scaffold
        var streamed = [String](repeating: "", count: 6)
        let out = try model.generate(prompts: prompts, tokenizer: tokenizer, options: options) { i, piece in streamed[i] += piece }
        #expect(out.count == 6)
        for s in out {
            #expect(s.forced.count == s.tokens.count)
            #expect(s.text.hasPrefix("<think>\n"), "\(s.text)")
            #expect(s.text.hasSuffix("</answer>"), "\(s.text)")
            #expect(streamed[s.prompt * 3 + s.sample] == s.text)
            var cursor = s.text.startIndex
            for tag in ["<think>", "</think>", "<intent>", "</intent>", "<think>", "</think>", "<answer>", "</answer>"] {
                let found = try #require(s.text.range(of: tag, range: cursor..<s.text.endIndex), "\(tag) missing in \(s.text)")
                cursor = found.upperBound
            }
            // Sampled tokens: at most the sum of the budgets; written ones: tags and line breaks
            // only (the model may write a closing tag itself), the four openings always.
            #expect(s.forced.filter { !$0 }.count <= 5 + 7 + 3 + 9)
            var written = tokenizer.decode(zip(s.tokens, s.forced).filter(\.1).map(\.0))
            let openings = ["<think>", "<intent>", "<answer>"].map { written.components(separatedBy: $0).count - 1 }
            #expect(openings == [2, 1, 1], "written: \(written)")
            for tag in ["<think>", "</think>", "<intent>", "</intent>", "<answer>", "</answer>"] {
                written = written.replacingOccurrences(of: tag, with: "")
            }
            #expect(written.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "written beyond the tags: \(written)")
            let full = prompts[s.prompt] + s.tokens
            let ids = try Tensor(full.map(Int64.init), shape: [1, full.count])
            let (logProbs, _) = try withNoGrad { try model.sequenceLogProbs(ids: ids, valid: nil, temperature: 0.9) }
            let tail = Array(try floats(logProbs).suffix(s.tokens.count))
            #expect(maxDifference(tail, s.logProbs) <= 1e-4)
        }
        #expect(out.contains { !$0.budgetEndedBlocks.isEmpty }, "budgets of 3–9 tokens end some block")
    }

    /// A stop token sampled inside a block closes the block instead of the completion: made
    /// certain by declaring the first token greedy decoding picks a stop token.
    @Test func aStopTokenClosesTheBlockNotTheCompletion() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompt = [try GenerationTests.promptIds()[0]]
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 80
        options.scaffold = Self.scaffold
        let free = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)[0]
        let firstSampled = try #require(zip(free.tokens, free.forced).first { !$0.1 }?.0)
        options.stopTokenIds = [firstSampled]
        let stopped = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)[0]
        #expect(!zip(stopped.tokens, stopped.forced).contains { $0.0 == firstSampled && !$0.1 }, "a stop token was kept as a sample")
        #expect(stopped.text.hasPrefix("<think>\n</think>\n<intent>"), "\(stopped.text)")
        #expect(stopped.text.hasSuffix("</answer>"))
        #expect(stopped.finishReason == .stop || stopped.finishReason == .length)
    }

    /// A token cap below what the blocks and tags need is raised: the last block always closes.
    @Test func theLastBlockAlwaysCloses() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = GenerationOptions()
        options.maxNewTokens = 2
        options.samplesPerPrompt = 4
        options.seed = 9
        options.scaffold = Self.scaffold
        let out = try model.generate(prompts: [try GenerationTests.promptIds()[1]], tokenizer: tokenizer, options: options)
        for s in out { #expect(s.text.hasSuffix("</answer>") && s.tokens.count > 24, "\(s.text)") }
        // A stop string still ends a scaffolded completion, cut before it.
        options.stopStrings = ["<intent>"]
        for s in try model.generate(prompts: [try GenerationTests.promptIds()[1]], tokenizer: tokenizer, options: options) {
            #expect(s.finishReason == .stop && s.text.hasPrefix("<think>\n") && !s.text.contains("<intent>"), "\(s.text)")
        }
    }

    @Test func aScaffoldWithoutBlocksOrBudgetsIsAnError() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = GenerationOptions()
        options.scaffold = BlockScaffold(blocks: [])
        #expect(throws: TorchError.self) { try model.generate(prompts: [[1, 2]], tokenizer: tokenizer, options: options) }
        options.scaffold = BlockScaffold(blocks: [.init(opening: "<a>", closing: "</a>", budget: 0)])
        #expect(throws: TorchError.self) { try model.generate(prompts: [[1, 2]], tokenizer: tokenizer, options: options) }
    }
}
