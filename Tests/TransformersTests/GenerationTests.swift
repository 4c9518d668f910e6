import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

struct SmolLMFixture: Decodable {
    struct Prompt: Decodable {
        let text: String
        let greedy: [Int]
        let greedy_margins: [Double]
    }
    let prompts: [Prompt]
}

@Suite struct GenerationTests {
    static func promptIds() throws -> [[Int]] {
        let expected = try fixtureTensors("smollm2-logits.safetensors")
        return try (0..<5).map { p in try ints(#require(expected["p\(p).ids"])) }
    }

    /// All five prompts in one left-padded batch, 48 greedy tokens each, EOS not stopping:
    /// the same tokens as transformers' step-by-step greedy decoding of each prompt alone.
    @Test func batchedGreedyMatchesTransformers() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let fixture = try JSONDecoder().decode(
            SmolLMFixture.self, from: Data(contentsOf: modelFixtures.appendingPathComponent("smollm2.json")))
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 48
        options.stopAtEOS = false
        let out = try model.generate(prompts: try Self.promptIds(), tokenizer: tokenizer, options: options)
        for (p, prompt) in fixture.prompts.enumerated() {
            #expect(out[p].tokens == prompt.greedy, "prompt \(p) (smallest top-2 margin \(prompt.greedy_margins.min() ?? 0))")
            #expect(out[p].finishReason == .length)
        }
    }

    /// The trainer relies on this: log-probs reported while sampling equal those of the
    /// training forward pass over the same tokens.
    @Test func sampledLogProbsEqualTrainingForwardLogProbs() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompts = Array(try Self.promptIds().prefix(2))
        var options = GenerationOptions()
        options.temperature = 0.8
        options.maxNewTokens = 24
        options.samplesPerPrompt = 2
        options.seed = 11
        let out = try model.generate(prompts: prompts, tokenizer: tokenizer, options: options)
        #expect(out.count == 4)
        for sequence in out where !sequence.tokens.isEmpty {
            let full = prompts[sequence.prompt] + sequence.tokens
            let ids = try Tensor(full.map(Int64.init), shape: [1, full.count])
            let (logProbs, _) = try withNoGrad { try model.sequenceLogProbs(ids: ids, valid: nil, temperature: 0.8) }
            let tail = Array(try floats(logProbs).suffix(sequence.tokens.count))
            #expect(maxDifference(tail, sequence.logProbs) <= 1e-4, "sequence \(sequence.prompt).\(sequence.sample)")
            // With autograd on (plain matmul kernels instead of the packed inference ones).
            let (withGrad, _) = try model.sequenceLogProbs(ids: ids, valid: nil, temperature: 0.8)
            let gradTail = Array(try floats(withGrad.detach()).suffix(sequence.tokens.count))
            #expect(maxDifference(gradTail, sequence.logProbs) <= 1e-4, "autograd forward, sequence \(sequence.prompt).\(sequence.sample)")
        }
    }

    @Test func seededSamplingIsReproducibleAndSamplesDiffer() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompt = [Array(try Self.promptIds()[1])]
        var options = GenerationOptions()
        options.maxNewTokens = 16
        options.samplesPerPrompt = 3
        options.topP = 0.9
        options.topK = 50
        options.seed = 3
        let a = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)
        let b = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)
        #expect(a == b)
        #expect(Set(a.map(\.tokens)).count > 1, "three samples at temperature 1 should not all agree")
        options.seed = 4
        #expect(try model.generate(prompts: prompt, tokenizer: tokenizer, options: options) != a)
        for s in a { #expect(s.text == tokenizer.decode(s.tokens, skipSpecialTokens: true) || s.finishReason == .stop) }
    }

    /// Issue 18 item 12: completions generated in memory-sized batches are numbered across
    /// batches; a single batch is exactly `generate`; memory sizing refuses what cannot fit.
    @Test func completionsInBatchesCountAcrossBatches() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompt = try Self.promptIds()[2]
        var options = GenerationOptions()
        options.maxNewTokens = 6
        options.samplesPerPrompt = 5
        options.seed = 11
        let whole = try model.generate(prompts: [prompt], tokenizer: tokenizer, options: options)
        #expect(try model.generateSamples(prompt: prompt, tokenizer: tokenizer, options: options, perBatch: 5) == whole)
        var indices: [Int] = []
        let split = try model.generateSamples(prompt: prompt, tokenizer: tokenizer, options: options, perBatch: 2) { i, _ in
            indices.append(i)
        }
        #expect(split.map(\.sample) == [0, 1, 2, 3, 4])
        #expect(Set(indices).isSubset(of: Set(0..<5)) && indices.contains(4))
        let each = GenerationMemory.bytesPerCompletion(config: model.config, dtype: .float32, promptTokens: 10, maxNewTokens: 1_000)
        #expect(each > model.config.vocabSize * 4)
        #expect(GenerationMemory.completionsPerBatch(wanted: 100_000, bytesPerCompletion: each, available: 10 * each) == 7)
        #expect(GenerationMemory.completionsPerBatch(wanted: 1, bytesPerCompletion: each, available: each / 2) == 0)
        #expect((GenerationMemory.availableBytes() ?? 0) > 0)
    }

    @Test func stopStringsEndTheCompletionBeforeTheString() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompt = [Array(try Self.promptIds()[2])]  // "The quick brown fox … The"
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 30
        let free = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)[0]
        let words = free.text.split(separator: " ")
        let stop = String(try #require(words.dropFirst(2).first))
        options.stopStrings = [stop]
        var streamed = ""
        let cut = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options) { _, piece in streamed += piece }[0]
        #expect(cut.finishReason == .stop)
        #expect(!cut.text.contains(stop))
        #expect(free.text.hasPrefix(cut.text))
        #expect(streamed == cut.text)
    }

    /// Streamed text holds back an ending that may start a stop string: a stop string that
    /// spans tokens never shows up in the stream, even in part.
    @Test func streamingHoldsBackTheStartOfAStopString() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompt = [Array(try Self.promptIds()[2])]
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 30
        let free = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options)[0]
        let words = free.text.split(separator: " ")
        let stop = String(try #require(words.dropFirst(2).first)) + " " + String(try #require(words.dropFirst(3).first).prefix(2))
        options.stopStrings = [stop]
        var pieces: [String] = []
        let cut = try model.generate(prompts: prompt, tokenizer: tokenizer, options: options) { _, piece in pieces.append(piece) }[0]
        #expect(cut.finishReason == .stop && pieces.joined() == cut.text && !cut.text.contains(stop))
        #expect(CausalLM.stopPrefixLength("the answer is\nUs", stops: ["\nUser:"]) == 3)
        #expect(CausalLM.stopPrefixLength("the answer", stops: ["\nUser:"]) == 0)
    }

    @Test func stopCutFindsTheEarliestMatch() {
        #expect(CausalLM.stopCut("hello world", stops: ["wor", "lo"], searchFrom: 0) == 3)
        #expect(CausalLM.stopCut("hello", stops: ["x"], searchFrom: 0) == nil)
        #expect(CausalLM.stopCut("abc</answer>", stops: ["</answer>"], searchFrom: 5) == 3)
    }

    @Test func badRequestsAreErrorsNotCrashes() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        #expect(throws: TorchError.self) { try model.generate(prompts: [[]], tokenizer: tokenizer, options: GenerationOptions()) }
        #expect(throws: TorchError.self) { try model.generate(prompts: [[1 << 30]], tokenizer: tokenizer, options: GenerationOptions()) }
        var options = GenerationOptions()
        options.temperature = 0
        #expect(throws: TorchError.self) { try model.generate(prompts: [[1, 2]], tokenizer: tokenizer, options: options) }
    }
}
