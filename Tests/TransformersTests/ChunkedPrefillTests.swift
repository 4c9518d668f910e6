import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Chunked prefill: prompts that join a running batch prefill a few columns per decoding step
/// and decode exactly as when they prefill whole.
@Suite struct ChunkedPrefillTests {
    static var greedy: GenerationOptions {
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 24
        options.stopAtEOS = false
        return options
    }

    /// Prompts of different lengths (padded together when they arrive at the same step; the
    /// longest past the tiny models' window of 4) join while others decode; a finished row is
    /// reused; one prompt repeats another's start (the prefix cache fills it, the rest runs in
    /// chunks). Returns the completions and the step each prompt finished at.
    static func run(_ model: CausalLM, chunk: Int?, prefixes: Bool = false) throws -> ([GeneratedSequence], [Int: Int]) {
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = greedy
        options.prefillChunkTokens = chunk
        let prompts = [23, 5, 31, 12, 44, 8].enumerated().map { p, n in (0..<n).map { ($0 * (p + 7) + 3 * p) % 300 } }
        let extended = prompts[2] + [7, 8, 9, 10, 11, 12]
        let arrivals: [Int: [([Int], Int)]] = [
            0: [(prompts[0], 24), (prompts[1], 4)], 2: [(prompts[2], 24), (prompts[3], 20)], 5: [(prompts[4], 24)],
            6: [(prompts[5], 10)], 20: [(extended, 12)],
        ]
        var step = 0
        var finishedAt: [Int: Int] = [:]
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: $0.0, maxNewTokens: $0.1) }
        }
        var request = GenerationRequest(.feed(feed), options: options, perPromptSeeds: false)
        request.prefixes = prefixes ? PromptPrefixCache(budgetBytes: 64 << 20, minimumPrefix: 4) : nil
        let out = try model.generate(
            request, tokenizer: tokenizer, observer: GenerationObserver(finished: { prompt, _ in finishedAt[prompt] = step }))
        return (out, finishedAt)
    }

    /// Every family, windowed ones included, at budgets that split prompts into many chunks:
    /// greedy tokens equal the unchunked run's, log-probs within 1e-5.
    @Test(arguments: ["tiny-llama3", "tiny-qwen2", "tiny-mistral", "tiny-gemma3"])
    func chunkedEqualsUnchunked(name: String) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        for prefixes in [false, true] {
            let (whole, wholeSteps) = try Self.run(model, chunk: nil, prefixes: prefixes)
            for chunk in [3, 8] {
                let (chunked, steps) = try Self.run(model, chunk: chunk, prefixes: prefixes)
                #expect(chunked.count == whole.count)
                for (a, b) in zip(whole, chunked) {
                    #expect(a.tokens == b.tokens, "\(name) chunk \(chunk) prefixes \(prefixes): prompt \(a.prompt)")
                    #expect(maxDifference(a.logProbs, b.logProbs) <= 1e-5, "\(name) chunk \(chunk): prompt \(a.prompt)")
                }
                // The 44-token prompt (number 4) joined later than when prefilled whole.
                #expect(try #require(steps[4]) > (try #require(wholeSteps[4])), "\(name) chunk \(chunk)")
            }
        }
    }

    /// SmolLM2's prompts joining mid-run with a small budget still get transformers' greedy
    /// continuation of each alone.
    @Test func chunkedJoinsMatchTransformersGreedy() throws {
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let fixture = try ContinuousBatchingTests.fixture()
        let prompts = try GenerationTests.promptIds()
        var options = ContinuousBatchingTests.greedy48
        options.prefillChunkTokens = 4
        let arrivals = [0: [0], 5: [1], 11: [2, 3], 14: [4]]
        var step = 0
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0]) }
        }
        let out = try model.generate(GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer)
        for (p, prompt) in fixture.prompts.enumerated() { #expect(out[p].tokens == prompt.greedy, "prompt \(p)") }
    }

    /// A long prompt alone takes ⌈44 / 7⌉ steps of a 7-token budget to join; a short one that
    /// arrives behind it joins at once (shortest work first), so it finishes first.
    @Test func aShortPromptDoesNotWaitBehindALongOne() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path))
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = Self.greedy
        options.prefillChunkTokens = 7
        let long = (0..<44).map { $0 * 13 % 300 }
        let arrivals = [0: [Array(long.prefix(9))], 2: [long], 3: [[5, 6, 7, 8, 9]]]
        var step = 0
        var finishedAt: [Int: Int] = [:]
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: $0, maxNewTokens: 8) }
        }
        _ = try model.generate(
            GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer,
            observer: GenerationObserver(finished: { prompt, _ in finishedAt[prompt] = step }))
        // Fed at the start of step 2, the long prompt's seventh chunk runs in step 8: its
        // first token is sampled there, its eighth in step 15.
        #expect(finishedAt[1] == 16)
        #expect(try #require(finishedAt[2]) < (try #require(finishedAt[1])))
    }

    /// A client that goes away while its prompt prefills: the prefill stops, its completion is
    /// `abandoned`, and the others decode on.
    @Test func abandoningAJoiningPromptStopsItsPrefill() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-qwen2").path))
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = Self.greedy
        options.prefillChunkTokens = 4
        let arrivals = [0: [[1, 2, 3, 4, 5]], 1: [(0..<40).map { $0 * 7 % 300 }]]
        var step = 0
        let feed = PromptFeed { _, _ in
            defer { step += 1 }
            return (arrivals[step] ?? []).map { FedPrompt(ids: $0, maxNewTokens: 12) }
        }
        let out = try model.generate(
            GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer,
            observer: GenerationObserver(abandoned: { prompt in prompt == 1 && step >= 4 }))
        #expect(out.map(\.finishReason) == [.length, .abandoned])
        #expect(out[0].tokens.count == 12 && out[1].tokens.isEmpty)
    }

    /// The schedule: no budget runs everything; the oldest group gets a quarter of the budget
    /// and the rest goes to the least work first; shares are rounded as the prefill runs them.
    @Test func scheduleGivesTheOldestAQuarterAndTheShortestTheRest() {
        #expect(PrefillSchedule.columns(groups: [(2, 40), (1, 5)], budget: nil) == [40, 5])
        // 16 tokens: the oldest (2 rows) 4 / 2 = 2 columns; the short one its 5 (5 tokens);
        // the oldest 3 more of the 7 left. With 20 and three groups: the oldest 5, the least
        // work (9) all of it, the 6 left 2 columns of 3 rows.
        #expect(PrefillSchedule.columns(groups: [(2, 40), (1, 5)], budget: 16) == [5, 5])
        #expect(PrefillSchedule.columns(groups: [(1, 40), (3, 30), (1, 9)], budget: 20) == [5, 2, 9])
        // A budget below one column of the oldest still moves it (two columns).
        #expect(PrefillSchedule.columns(groups: [(8, 40)], budget: 3) == [2])
        #expect(PrefillSchedule.runs(asked: 1, remaining: 1) == 1)
        #expect(PrefillSchedule.runs(asked: 4, remaining: 5) == 5)
        #expect(PrefillSchedule.runs(asked: 0, remaining: 5) == 0)
    }
}
