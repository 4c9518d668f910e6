import Foundation
import ModelStore
import Testing

@testable import ModelFormats

/// Gemma 3's SentencePiece-style BPE from the GGUF against transformers (fixtures by
/// scripts/fixtures/make_gemma_fixtures.py): ids of the whole corpus, with and without
/// special tokens, decoding, streaming decoding.
@Suite(.serialized) struct SentencePieceTokenizerTests {
    struct GemmaFixture: Decodable {
        let ids: [[Int]]
        let ids_special: [String: [Int]]
        let decoded: [String]
        let first_with_bos: [Int]
        let vocab_size: Int
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gemma")

    static func fixture() throws -> GemmaFixture {
        try JSONDecoder().decode(GemmaFixture.self, from: Data(contentsOf: fixtures.appendingPathComponent("tokenizer.json")))
    }

    static func gemma() throws -> Tokenizer {
        let path = try ModelStore().resolve("gemma3-270m", pull: false).path
        return try Tokenizer.load(gguf: GGUFFile(path: path))
    }

    @Test func gemmaFromGGUFMatchesTransformers() throws {
        let tokenizer = try Self.gemma()
        let fixture = try Self.fixture()
        #expect(tokenizer.kind == .sentencePieceBPE)
        #expect(tokenizer.vocabularySize == fixture.vocab_size)
        #expect(tokenizer.bosId == 2 && tokenizer.eosId == 1)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "Gemma 3")
        #expect(tokenizer.encode(corpus[0], addSpecialTokens: true) == fixture.first_with_bos)
        var wrong = 0
        for (i, ids) in fixture.ids.enumerated() where tokenizer.decode(ids) != fixture.decoded[i] {
            wrong += 1
            if wrong <= 3 { Issue.record("decode of entry \(i): \(tokenizer.decode(ids).debugDescription) vs \(fixture.decoded[i].debugDescription)") }
        }
        #expect(wrong == 0)
    }

    @Test func streamingDecodeEqualsDecode() throws {
        let tokenizer = try Self.gemma()
        let fixture = try Self.fixture()
        for ids in fixture.ids.prefix(400) {
            var decoder = tokenizer.streamingDecoder()
            var text = ""
            for id in ids { text += decoder.push(id) }
            text += decoder.finish()
            #expect(text == tokenizer.decode(ids))
        }
    }
}
