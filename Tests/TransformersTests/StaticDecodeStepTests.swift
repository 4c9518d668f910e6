import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// The static decode step that CUDA graphs record (`DecodeSteps.static`) decodes as the
/// eager step does, through joins into finished rows, grown caches and sliding windows.
@Suite struct StaticDecodeStepTests {
    @Test(arguments: ["tiny-llama3", "tiny-qwen2", "tiny-gemma3", "tiny-mistral", "tiny-qwen3"])
    func staticStepsDecodeAsEagerSteps(name: String) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let tokenizer = try #require(SmolLM.tokenizer)
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 150  // past a slot bucket of 128
        options.stopAtEOS = false
        let prompts = [23, 5, 31, 12, 44, 8].enumerated().map { p, n in (0..<n).map { ($0 * (p + 7) + 3 * p) % 300 } }
        // Four rows; the longest prompt joins at step 3 (the cache grows); prompt 1 finishes at
        // step 6 and prompt 5 takes its row at step 25 (a join into a finished row).
        let arrivals = [0: [(0, 150), (1, 6), (2, 150), (3, 140)], 3: [(4, 130)], 25: [(5, 10)]]
        func run(_ steps: DecodeSteps) throws -> [GeneratedSequence] {
            var options = options
            options.decodeSteps = steps
            var step = 0
            let feed = PromptFeed { _, _ in
                defer { step += 1 }
                return (arrivals[step] ?? []).map { FedPrompt(ids: prompts[$0.0], maxNewTokens: $0.1) }
            }
            return try model.generate(GenerationRequest(.feed(feed), options: options, perPromptSeeds: false), tokenizer: tokenizer)
        }
        let eager = try run(.eager)
        let statics = try run(.static)
        #expect(eager.count == 6 && statics.count == 6)
        for (k, (a, b)) in zip(eager, statics).enumerated() {
            #expect(a.tokens == b.tokens, "prompt \(k)")
            #expect(maxDifference(a.logProbs, b.logProbs) <= 1e-4, "prompt \(k)")
        }
    }

    /// CUDA graphs are refused clearly on the CPU and without the plugin.
    @Test func cudaGraphsNeedACUDADevice() throws {
        #expect(throws: TorchError.self) { try CUDAGraph(plugin: "/nonexistent/libiap_cuda_graphs.so", device: .cpu) }
        do {
            _ = try CUDAGraph(plugin: "/nonexistent/libiap_cuda_graphs.so", device: .cpu)
        } catch {
            #expect(error.message.contains("CUDA device"))
        }
    }
}
