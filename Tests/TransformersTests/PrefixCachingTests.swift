import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Prompts that reuse remembered prefixes (`PromptPrefixCache`) decode as they do when
/// prefilled whole: the same greedy tokens and log-probs, for plain and windowed models.
@Suite struct PrefixCachingTests {
    /// A 20-token base prompt (longer than the tiny models' window of 4) and prompts that
    /// extend it, arriving while others decode: the base again (a whole hit: no forward pass),
    /// one extension alone, two extensions of different lengths together (left-padded rests
    /// behind the prefix; windowed models prefill those whole), two of equal length together.
    @Test(arguments: ["tiny-llama3", "tiny-qwen2", "tiny-gemma3", "tiny-mistral"])
    func reusedPrefixesDecodeAsWholePrefills(name: String) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 12
        options.stopAtEOS = false
        let base = (0..<20).map { ($0 * 37 + 11) % 300 }
        let prompts = [base, base, base + [5, 9, 14], base + [7], base + [8, 1, 2, 3, 4, 6], base + [40, 41], base + [50, 51]]
        let arrivals = [0: [0], 3: [1], 5: [2], 8: [3, 4], 9: [5, 6]]
        func run(_ prefixes: PromptPrefixCache?) throws -> [GeneratedSequence] {
            var step = 0
            let feed = PromptFeed { _, _ in
                defer { step += 1 }
                return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0]) }
            }
            var request = GenerationRequest(.feed(feed), options: options, perPromptSeeds: false)
            request.prefixes = prefixes
            return try model.generate(request, tokenizer: tokenizer)
        }
        let whole = try run(nil)
        let prefixes = PromptPrefixCache(budgetBytes: 64 << 20)
        let reused = try run(prefixes)
        #expect(whole.count == prompts.count && reused.count == prompts.count)
        for (k, (a, b)) in zip(whole, reused).enumerated() {
            #expect(a.tokens == b.tokens, "prompt \(k)")
            #expect(maxDifference(a.logProbs, b.logProbs) <= 1e-4, "prompt \(k)")
        }
        // Hits: the base whole (20), one extension (20), the equal-length pair (2 × 20); the
        // unequal pair too (2 × 20) unless the model has windowed layers.
        let windowed = model.slidingWindowSlots(GenerationOptions())?.layers.contains(true) == true
        #expect(prefixes.tokensReused == 20 + 20 + 40 + (windowed ? 0 : 40))
        #expect(prefixes.bytesHeld > 0)
    }

    /// Entries beyond the budget go, least recently used first; a prompt that alone exceeds
    /// the budget is not remembered; an exact repeat is not stored twice.
    @Test func entriesAreEvictedLeastRecentlyUsedFirst() throws {
        func entry(_ n: Int) throws -> (keys: [Tensor], values: [Tensor], logits: Tensor) {
            (try [Tensor.zeros([1, 1, n, 4])], try [Tensor.zeros([1, 1, n, 4])], try Tensor.zeros([1, 8]))
        }
        // An entry of n tokens: 2 · 4n floats of keys and values + 8 logits.
        let cache = PromptPrefixCache(budgetBytes: 3 * (2 * 4 * 10 + 8) * 4, minimumPrefix: 2)
        for first in [1, 2, 3] {
            let e = try entry(10)
            cache.remember(ids: (0..<10).map { $0 + 100 * first }, keys: e.keys, values: e.values, logits: e.logits)
        }
        #expect(cache.match([(0..<12).map { $0 + 100 }])?.length == 10)  // entry 1 used: entry 2 is now the oldest
        let e = try entry(10)
        cache.remember(ids: (0..<10).map { $0 + 400 }, keys: e.keys, values: e.values, logits: e.logits)
        #expect(cache.match([(0..<10).map { $0 + 200 }]) == nil)
        #expect(cache.match([(0..<10).map { $0 + 100 }])?.whole == true)
        let big = try entry(1000)
        cache.remember(ids: Array(0..<1000), keys: big.keys, values: big.values, logits: big.logits)
        #expect(cache.match([Array(0..<1000)]) == nil)
        cache.remember(ids: (0..<10).map { $0 + 400 }, keys: e.keys, values: e.values, logits: e.logits)
        #expect(cache.bytesHeld == 3 * (2 * 4 * 10 + 8) * 4)
        // Shorter shared prefixes than the minimum are not used; a prompt one token past an
        // entry reuses all of it.
        #expect(cache.match([[100, 999, 5]]) == nil)
        #expect(cache.match([[100, 101, 999]])?.length == 2)
        #expect(cache.match([(0..<11).map { $0 + 300 }])?.length == 10)
    }
}
