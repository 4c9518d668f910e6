import Foundation
import ModelFormats
import ModelStore
import Testing
import Torch

@testable import Transformers

@Suite struct BertEncoderTests {
    static func miniLM() throws -> (BertEncoder, Tokenizer) {
        let files = try ModelFiles(path: ModelStore().resolve("all-minilm-l6-v2", pull: false).path)
        return (try BertEncoder.load(files), try files.loadTokenizer())
    }

    /// Every layer's hidden states within 1e-4 of the fixture's `hidden.L` on real tokens.
    static func expectSameStates(_ states: [Tensor], _ expected: [String: Tensor], mask: Tensor, hidden: Int) throws {
        let m = try ints(mask)
        for (layer, state) in states.enumerated() {
            let got = try floats(state)
            let want = try floats(#require(expected["hidden.\(layer)"]))
            var worst: Float = 0
            for (slot, flag) in m.enumerated() where flag == 1 {
                let range = (slot * hidden)..<((slot + 1) * hidden)
                worst = max(worst, maxDifference(Array(got[range]), Array(want[range])))
            }
            #expect(worst <= 1e-4, "layer \(layer): \(worst)")
        }
    }

    /// Hidden states of every layer for a padded batch within 1e-4 of transformers (real
    /// tokens), and embeddings with cosine ≥ 0.9999 to sentence-transformers' recipe.
    @Test func miniLMMatchesTransformers() throws {
        let (encoder, tokenizer) = try Self.miniLM()
        let expected = try fixtureTensors("minilm.safetensors")
        let ids = try #require(expected["input_ids"])
        let mask = try #require(expected["attention_mask"])
        let states = try withNoGrad { try encoder.hiddenStates(ids: ids, typeIds: expected["token_type_ids"], mask: mask) }
        #expect(states.count == 7)
        try Self.expectSameStates(states, expected, mask: mask, hidden: encoder.config.hiddenSize)
        struct Meta: Decodable { let sentences: [String] }
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: modelFixtures.appendingPathComponent("minilm.json")))
        let embeddings = try encoder.embed(meta.sentences, tokenizer: tokenizer)
        let want = try #require(expected["embeddings"])
        let cosines = try floats((embeddings * want).sum(dims: [1]))
        #expect(cosines.allSatisfy { $0 >= 0.9999 }, "\(cosines)")
        // The same tokens as the fixture's tokenizer produced.
        let batch = try BertEncoder.batch(meta.sentences, tokenizer: tokenizer, maxLength: 256, device: .cpu)
        #expect(try ints(batch.ids) == ints(ids))
    }

    @Test func layerCutAndLongInputs() throws {
        let (encoder, tokenizer) = try Self.miniLM()
        let batch = try BertEncoder.batch(["short", "a little longer"], tokenizer: tokenizer, maxLength: 256, device: .cpu)
        #expect(try encoder.hiddenStates(ids: batch.ids, mask: batch.mask, upTo: 3).count == 4)
        let long = String(repeating: "word ", count: 2000)
        let e = try encoder.embed([long], tokenizer: tokenizer, maxLength: 10_000)  // truncated to 512 positions
        #expect(e.shape == [1, 384])
    }

    /// A tiny random RoBERTa (position ids from the pad id, no token types, its own prefix)
    /// against transformers: hidden states of every layer within 1e-4 on real tokens.
    @Test func tinyRobertaMatchesTransformers() throws {
        let files = try ModelFiles(path: modelFixtures.appendingPathComponent("tiny-roberta").path)
        let encoder = try BertEncoder.load(files)
        #expect(encoder.config.roberta && encoder.config.padTokenId == 1 && encoder.config.maxTokens == 62)
        let expected = try fixtureTensors("tiny-roberta-hidden.safetensors")
        let ids = try #require(expected["input_ids"])
        let mask = try #require(expected["attention_mask"])
        let states = try withNoGrad { try encoder.hiddenStates(ids: ids, mask: mask) }
        try Self.expectSameStates(states, expected, mask: mask, hidden: encoder.config.hiddenSize)
    }
}
