import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Prompts that join a running batch (continuous batching) decode as they would alone.
@Suite struct ContinuousBatchingTests {
    static func fixture() throws -> SmolLMFixture {
        try JSONDecoder().decode(SmolLMFixture.self, from: Data(contentsOf: modelFixtures.appendingPathComponent("smollm2.json")))
    }

    /// The fixture's decoding: 48 greedy tokens, EOS not stopping.
    static var greedy48: GenerationOptions {
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 48
        options.stopAtEOS = false
        return options
    }

    /// The five fixture prompts (of different lengths) arrive one by one while others decode — a
    /// longer prompt joining shorter running rows, and the reverse — and each still gets
    /// transformers' greedy continuation of it alone.
    @Test func promptsJoiningMidRunGetTheirOwnGreedyContinuation() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let fixture = try Self.fixture()
        let prompts = try GenerationTests.promptIds()
        let options = Self.greedy48
        // Step k of the run: prompt 0 at 0, 1 at 5, 2 and 3 together at 11, 4 at 30.
        let arrivals = [0: [0], 5: [1], 11: [2, 3], 30: [4]]
        var step = 0
        var finishedOrder: [Int] = []
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0]) }
        }
        let out = try model.generate(
            GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer,
            observer: GenerationObserver(finished: { prompt, completions in
                finishedOrder.append(prompt)
                #expect(completions.count == 1 && completions[0].tokens.count == 48)
            }))
        #expect(out.count == 5)
        for (p, prompt) in fixture.prompts.enumerated() {
            #expect(out[p].tokens == prompt.greedy, "prompt \(p) (smallest top-2 margin \(prompt.greedy_margins.min() ?? 0))")
        }
        #expect(finishedOrder == [0, 1, 2, 3, 4])
    }

    /// A prompt that joins into the row of a sequence that finished (no copy of the running
    /// rows) still gets its own greedy continuation, and so do the others.
    @Test func aJoiningPromptReusesAFinishedRow() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let fixture = try Self.fixture()
        let prompts = try GenerationTests.promptIds()
        let options = Self.greedy48
        // Prompts 0–3 first; prompt 4 (6 tokens) joins at step 2 (the cache grows, with room);
        // it ends at step 8, one row of five (below the compaction threshold), and prompt 1
        // again joins into that row at step 10.
        let arrivals = [0: [(0, 48), (1, 48), (2, 48), (3, 48)], 2: [(4, 6)], 10: [(1, 48)]]
        var step = 0
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0.0], maxNewTokens: $0.1) }
        }
        let out = try model.generate(GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer)
        let expected =
            [0, 1, 2, 3].map { fixture.prompts[$0].greedy } + [Array(fixture.prompts[4].greedy.prefix(6)), fixture.prompts[1].greedy]
        #expect(out.map(\.tokens) == expected)
    }

    /// With a seed per prompt, sampling is the same alone, in a static batch and in a
    /// continuous one with fewer rows than sequences; prompts are answered as they finish.
    @Test func perPromptSeedsSampleAlikeAloneStaticAndContinuous() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let prompts = try GenerationTests.promptIds()
        let seeds: [UInt64] = [7, 8, 9, 10, 11]
        var options = GenerationOptions()
        options.maxNewTokens = 20
        options.samplesPerPrompt = 2
        options.temperature = 1.3  // EOS comes at different steps, so rows free up unevenly
        let alone = try prompts.indices.flatMap { p in
            try model.generate(prompts: [prompts[p]], tokenizer: tokenizer, options: options, promptSeeds: [seeds[p]])
        }
        for batching in Batching.allCases {
            var answered: [Int: [GeneratedSequence]] = [:]
            var request = GenerationRequest(prompts: prompts, seeds: seeds, options: options)
            request.maxRows = 4
            request.batching = batching
            let out = try model.generate(request, tokenizer: tokenizer, observer: GenerationObserver(finished: { answered[$0] = $1 }))
            // Batched and lone forward passes differ by float rounding (~1e-6), which may move
            // a draw that falls right on a token boundary: agree up to any such divergence,
            // and diverge in at most one of the ten sequences.
            var diverged = 0
            for (a, b) in zip(out, alone) {
                let same = zip(a.tokens, b.tokens).prefix { $0 == $1 }.count
                #expect(maxDifference(Array(a.logProbs.prefix(same)), Array(b.logProbs.prefix(same))) <= 1e-4, "\(batching)")
                if a.tokens != b.tokens { diverged += 1 }
            }
            #expect(diverged <= 1, "\(batching): \(diverged) of 10 sequences differ from their prompt alone")
            #expect(answered.count == 5 && answered.allSatisfy { p, c in c.map(\.tokens) == out[(2 * p)..<(2 * p + 2)].map(\.tokens) })
        }
    }

    /// The cache's join: rows of a shorter cache get invalid slots in front, and slots no
    /// remaining row uses are dropped first.
    @Test func cacheJoinAlignsRowsAtTheirLastSlot() throws {
        let a = try KVCache(layers: 1, batch: 1, kvHeads: 1, headDim: 1, capacity: 6, dtype: .float32, device: .cpu)
        _ = try a.store(
            layer: 0, keys: try Tensor([1, 2, 3] as [Float], shape: [1, 1, 3, 1]),
            values: try Tensor([1, 2, 3] as [Float], shape: [1, 1, 3, 1]))
        try a.advance(valid: try Tensor([false, true, true], shape: [1, 3]))
        let b = try KVCache(layers: 1, batch: 1, kvHeads: 1, headDim: 1, capacity: 4, dtype: .float32, device: .cpu)
        _ = try b.store(
            layer: 0, keys: try Tensor([5, 6, 7, 8] as [Float], shape: [1, 1, 4, 1]),
            values: try Tensor([5, 6, 7, 8] as [Float], shape: [1, 1, 4, 1]))
        try b.advance(valid: try Tensor([true, true, true, true], shape: [1, 4]))
        #expect(try a.leadingUnusedSlots() == 1)
        try a.append(rows: b, reserve: 2)
        #expect(a.batch == 2 && a.length == 4 && a.capacity == 6)
        #expect(try a.keys[0].narrow(dim: 2, start: 0, length: 4).flatten().toArray(Float.self) == [0, 0, 2, 3, 5, 6, 7, 8])
        #expect(
            try a.valid.narrow(dim: 1, start: 0, length: 4).flatten().toArray(Bool.self) == [
                false, false, true, true, true, true, true, true,
            ])
    }
}
