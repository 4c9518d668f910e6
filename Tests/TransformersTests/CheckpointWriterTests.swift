import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

@Suite struct CheckpointWriterTests {
    /// SmolLM2 from its GGUF written as a Hugging Face folder and read back: same logits,
    /// same token ids for the corpus, same chat template; the folder replaces an old one.
    @Test func smolLMRoundTripsThroughAHuggingFaceFolder() throws {
        let files = try #require(SmolLM.files)
        let model = try #require(SmolLM.model)
        let tokenizer = try #require(SmolLM.tokenizer)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: URL(fileURLWithPath: folder + "/stale.txt"))
        try CheckpointWriter.save(model, tokenizer: tokenizer, chatTemplate: files.chatTemplateText, to: folder)
        #expect(!FileManager.default.fileExists(atPath: folder + "/stale.txt"))

        let reopened = try ModelFiles(path: folder)
        let reloaded = try CausalLM.load(reopened)
        let ids = try Tensor((0..<20).map { Int64($0 * 101 % 49152) }, shape: [1, 20])
        let positions = try Tensor.arange(20).unsqueeze(0)
        let a = try floats(withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        let b = try floats(withNoGrad { try reloaded.logits(reloaded.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        #expect(maxDifference(a, b) == 0)

        let exported = try reopened.loadTokenizer()
        let corpusURL = modelFixtures.deletingLastPathComponent().appendingPathComponent("tokenizer/corpus.json")
        let corpus = try JSONDecoder().decode([String].self, from: Data(contentsOf: corpusURL))
        for text in corpus {
            #expect(exported.encode(text) == tokenizer.encode(text))
            #expect(exported.encode(text, recognizeSpecialTokens: true) == tokenizer.encode(text, recognizeSpecialTokens: true))
        }
        #expect(exported.bosId == tokenizer.bosId && exported.eosId == tokenizer.eosId)
        #expect(try reopened.chatTemplate().family == files.chatTemplate().family)
    }

    /// Gemma 3 (window, per-layer-type RoPE, query scale), Mistral (window) and Qwen3 (q/k
    /// norms, head_dim apart) configs and weights survive our Hugging Face folder: same
    /// config, same logits.
    @Test(arguments: ["tiny-gemma3", "tiny-mistral", "tiny-qwen3"])
    func slidingWindowModelsRoundTrip(name: String) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let tokenizer = try Tokenizer.load(
            tokenizerJSON: modelFixtures.deletingLastPathComponent().appendingPathComponent("gemma/tiny-spm-llama2.tokenizer.json").path)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CheckpointWriter.save(model, tokenizer: tokenizer, chatTemplate: nil, to: folder)
        let reloaded = try CausalLM.load(ModelFiles(path: folder))
        #expect(reloaded.config == model.config)
        let ids = try Tensor((0..<20).map { Int64($0 * 37 % 300) }, shape: [1, 20])
        let positions = try Tensor.arange(20).unsqueeze(0)
        let a = try floats(withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        let b = try floats(withNoGrad { try reloaded.logits(reloaded.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        #expect(maxDifference(a, b) == 0)
    }
}
