import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// A tiny DeBERTa-v3 (pytorch_model.bin of a DebertaV2ForMaskedLM, spm.model, the original's
/// config spelling) against transformers' DebertaV2Model (fixtures by
/// scripts/fixtures/make_deberta_fixtures.py).
@Suite struct DebertaEncoderTests {
    static let files = Result { try ModelFiles(path: modelFixtures.appendingPathComponent("tiny-deberta-v3").path) }

    /// Every layer's hidden states within 1e-4 on real tokens, for a padded batch whose longest
    /// text (300 tokens) reaches the logarithmic buckets; the batch our tokenizer builds is the
    /// fixture's.
    @Test func matchesTransformers() throws {
        let files = try Self.files.get()
        let encoder = try TextEncoders.load(files)
        guard let deberta = encoder as? DebertaEncoder else { Issue.record("not a DeBERTa encoder: \(type(of: encoder))"); return }
        #expect(deberta.config.positionBuckets == 256 && deberta.config.contentToPosition && deberta.config.positionToContent)
        #expect(!deberta.config.positionBiasedInput && deberta.config.shareAttentionKey && encoder.layerCount == 3)
        let expected = try fixtureTensors("tiny-deberta-v3-hidden.safetensors")
        let ids = try #require(expected["input_ids"])
        let mask = try #require(expected["attention_mask"])
        let states = try withNoGrad { try encoder.hiddenStates(ids: ids, mask: mask, upTo: nil) }
        #expect(states.count == 4)
        try BertEncoderTests.expectSameStates(states, expected, mask: mask, hidden: deberta.config.hiddenSize)
        #expect(try encoder.hiddenStates(ids: ids, mask: mask, upTo: 2).count == 3)
    }

    /// Relative distances to buckets as transformers' make_log_bucket_position (bucket size 256,
    /// max position 512): exact up to 128, logarithmic beyond (unclamped here: attention clamps
    /// when it gathers), odd in the distance, never decreasing with it.
    @Test func logBucketPositions() throws {
        let buckets = try ints(DebertaRelativePositions.buckets(length: 700, bucketSize: 256, maxPosition: 512, device: .cpu))
        func bucket(_ i: Int, _ j: Int) -> Int { buckets[i * 700 + j] }
        #expect(bucket(0, 0) == 0 && bucket(5, 0) == 5 && bucket(0, 127) == -127)
        for d in [128, 200, 300, 511, 699] {
            let mid = 128.0
            let log = Foundation.log(Double(d) / mid) / Foundation.log(511.0 / mid) * (mid - 1)
            let want = Int(log.rounded(.up)) + 128
            #expect(abs(bucket(d, 0) - want) <= 1 && bucket(0, d) == -bucket(d, 0), "distance \(d): \(bucket(d, 0)) vs \(want)")
        }
        #expect((1..<700).allSatisfy { bucket($0, 0) >= bucket($0 - 1, 0) })
    }

    /// A DeBERTa folder whose weights do not fit its config names the tensor.
    @Test func wrongWeightsNameTheTensor() throws {
        let files = try Self.files.get()
        guard case .deberta(let original) = files.config else { Issue.record("config is not DeBERTa"); return }
        var config = original
        config.vocabSize = 999
        let weights = try WeightLoader(files: files, dtype: .float32, device: .cpu).loadAll()
        #expect {
            _ = try DebertaEncoder(config: config, weights: weights, source: files.path)
        } throws: { error in
            "\(error)".contains("embeddings.word_embeddings.weight") && "\(error)".contains(files.path)
        }
        var extra = weights
        extra["encoder.layer.0.attention.self.pos_proj.weight"] = try Tensor.zeros([32, 32])
        #expect {
            _ = try DebertaEncoder(config: original, weights: extra, source: files.path)
        } throws: { error in "\(error)".contains("pos_proj") }
    }
}
