import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Generation's KV cache keeps only the window of sliding-window layers, and decodes exactly
/// as a cache that keeps every slot (the tiny Gemma 3 and Mistral fixtures have a window of
/// 4, so the cache drops slots after 19).
@Suite struct WindowedCacheTests {
    static func model(_ name: String) throws -> CausalLM {
        try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
    }

    /// Prefill of 30 tokens, then 60 greedy decode steps: logits equal the whole cache's at
    /// every step while the windowed layers never hold more than the window and its slack.
    @Test(arguments: ["tiny-gemma3", "tiny-mistral"])
    func decodeStepsMatchTheWholeCache(name: String) throws {
        let model = try Self.model(name)
        let window = try #require(model.slidingWindowSlots(GenerationOptions()))
        let first: [Int64] = (0..<30).map { (i: Int) -> Int64 in Int64(i * 37 % 300) }
        let second: [Int64] = (0..<30).map { (i: Int) -> Int64 in Int64(i * 11 % 290 + 5) }
        func run(trim: Bool) throws -> ([Float], [Int]) {
            let cache = try KVCache(
                layers: model.config.layerCount, batch: 2, kvHeads: model.config.kvHeadCount, headDim: model.config.headDim,
                capacity: 90, dtype: .float32, device: .cpu, window: trim ? window : nil)
            var ids = try Tensor(first + second, shape: [2, 30])
            var logits: [Float] = []
            var held: [Int] = []
            try withNoGrad { () throws(TorchError) -> Void in
                for step in 0..<61 {
                    let time = ids.shape[1]
                    let start = step == 0 ? 0 : 29 + step
                    let steps: [Int64] = (0..<(2 * time)).map { (i: Int) -> Int64 in Int64(start + i % time) }
                    let positions = try Tensor(steps, shape: [2, time])
                    let hidden = try model.hiddenStates(ids: ids, positions: positions, valid: nil, cache: cache)
                    let last = try model.logits(hidden.narrow(dim: 1, start: time - 1, length: 1)).squeeze(1)
                    logits += try last.flatten().toArray(Float.self)
                    held.append(cache.windowSlotsHeld)
                    ids = try last.argmax(dim: -1, keepDim: true)
                }
            }
            return (logits, held)
        }
        let (whole, wholeHeld) = try run(trim: false)
        let (windowed, held) = try run(trim: true)
        #expect(maxDifference(whole, windowed) <= 1e-5)
        #expect(wholeHeld.allSatisfy { $0 == 90 })
        #expect(held.dropFirst().allSatisfy { $0 <= window.roomy(time: 1) }, "\(held)")
        #expect(held.first == window.roomy(time: 30))  // the prefill holds the prompt
    }

    /// Prompts of different lengths arrive while others decode, longer than the window, with
    /// different limits — so windowed caches are joined (`append`) and finished rows reused
    /// (`place`) after their windows moved — and every completion equals the whole cache's.
    @Test(arguments: ["tiny-gemma3", "tiny-mistral"])
    func joinsAndReusedRowsMatchTheWholeCache(name: String) throws {
        let model = try Self.model(name)
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 40
        options.stopAtEOS = false
        let prompts = [23, 5, 31, 12, 44, 8].enumerated().map { p, n in (0..<n).map { ($0 * (p + 7) + 3 * p) % 300 } }
        // (prompt, limit) arriving at a step: four rows; the longest prompt joins at step 3
        // (`append`, the cache grows with room); prompt 1 finishes at step 6 and prompt 5
        // takes its row at step 25 (`place`), after the windows moved; rows 4 and 5 finish
        // and are dropped, which leaves unused leading slots when prompt 0 joins again.
        let arrivals = [0: [(0, 40), (1, 6), (2, 40), (3, 40)], 3: [(4, 30)], 25: [(5, 10)], 38: [(0, 8)]]
        func run(trim: Bool) throws -> [GeneratedSequence] {
            var options = options
            options.trimsSlidingWindowCache = trim
            var step = 0
            let feed = PromptFeed { _, _ in
                defer { step += 1 }
                return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0.0], maxNewTokens: $0.1) }
            }
            return try model.generate(GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer)
        }
        let whole = try run(trim: false)
        let windowed = try run(trim: true)
        #expect(whole.count == 7 && windowed.count == 7)
        for (a, b) in zip(whole, windowed) {
            #expect(a.tokens == b.tokens)
            #expect(maxDifference(a.logProbs, b.logProbs) <= 1e-5)
        }
    }

    /// The join keeps each side's windowed slots aligned at the last filled slot and starts
    /// the joined window where the side holding more slots starts.
    @Test func joiningWindowedCachesAlignsTheirLastSlots() throws {
        let window = SlidingWindowSlots(size: 3, layers: [true])
        func cache(_ keys: [Float]) throws -> KVCache {
            let c = try KVCache(layers: 1, batch: 1, kvHeads: 1, headDim: 1, capacity: 40, dtype: .float32, device: .cpu, window: window)
            for k in keys {
                try c.makeRoom(time: 1)
                let t = try Tensor([k], shape: [1, 1, 1, 1])
                _ = try c.store(layer: 0, keys: t, values: t)
                try c.advance(valid: try Tensor([true], shape: [1, 1]))
            }
            return c
        }
        // Full at slot 18 (18 slots held): shifted once to the last window − 1 = 2 slots, so
        // it holds slots 16..<20.
        let long = try cache((1...20).map(Float.init))
        #expect(long.windowStart == 16 && long.windowSlotsHeld == window.roomy(time: 1))
        let short = try cache([101, 102])  // holds slots 0..<2
        try long.append(rows: short, reserve: 4)
        #expect(long.length == 20 && long.windowStart == 16 && long.batch == 2)
        let held = try long.keys[0].narrow(dim: 2, start: 0, length: 4).flatten().toArray(Float.self)
        #expect(held == [17, 18, 19, 20, 0, 0, 101, 102])
        let valid = try long.valid.narrow(dim: 1, start: 16, length: 4).flatten().toArray(Bool.self)
        #expect(valid == [true, true, true, true, false, false, true, true])
    }
}
