import Foundation
import ModelStore
import Testing

@testable import ModelFormats

/// Decoded text of each id list equals the reference's.
func expectSameDecoding(_ tokenizer: Tokenizer, _ ids: [[Int]], _ decoded: [String], label: String) {
    let wrong = ids.indices.filter { tokenizer.decode(ids[$0]) != decoded[$0] }
    for i in wrong.prefix(3) {
        Issue.record("\(label) decode of entry \(i): \(tokenizer.decode(ids[i]).debugDescription) vs \(decoded[i].debugDescription)")
    }
    #expect(wrong.isEmpty, "\(label): decoding differs on \(wrong.count) entries")
}

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
        expectSameDecoding(tokenizer, fixture.ids, fixture.decoded, label: "Gemma 3")
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

/// tokenizer.json forms of SentencePiece-style BPE: two tiny tokenizers trained with
/// `tokenizers` (Llama 2's Prepend/Replace/Strip, the Metaspace form) and Gemma's as we export it.
@Suite struct SentencePieceTokenizerJSONTests {
    struct TinyFixture: Decodable {
        let ids: [[Int]]
        let ids_special: [String: [Int]]
        let decoded: [String]
    }

    @Test(arguments: ["llama2", "metaspace"])
    func tinyTokenizersMatchTokenizers(name: String) throws {
        let folder = SentencePieceTokenizerTests.fixtures
        let tokenizer = try Tokenizer.load(tokenizerJSON: folder.appendingPathComponent("tiny-spm-\(name).tokenizer.json").path)
        let fixture = try JSONDecoder().decode(
            TinyFixture.self, from: Data(contentsOf: folder.appendingPathComponent("tiny-spm-\(name).json")))
        #expect(tokenizer.kind == .sentencePieceBPE)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: name)
        expectSameDecoding(tokenizer, fixture.ids, fixture.decoded, label: name)
    }

    /// A Llama-style SentencePiece GGUF (no merges: recovered from the scores; a "▁" in front
    /// of the text, dropped again by decoding) against transformers loading the same file.
    @Test func llamaStyleGGUFMatchesTransformers() throws {
        let folder = SentencePieceTokenizerTests.fixtures
        let tokenizer = try Tokenizer.load(gguf: GGUFFile(path: folder.appendingPathComponent("tiny-spm-llama.gguf").path))
        let fixture = try JSONDecoder().decode(
            TinyFixture.self, from: Data(contentsOf: folder.appendingPathComponent("tiny-spm-llama.gguf.json")))
        #expect(tokenizer.kind == .sentencePieceBPE && tokenizer.bosId == 1)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "llama GGUF")
        expectSameDecoding(tokenizer, fixture.ids, fixture.decoded, label: "llama GGUF")
    }

    /// Gemma's tokenizer written as tokenizer.json and read back gives the same ids
    /// (transformers reads the same file with the same ids: make_gemma_fixtures.py check-export).
    @Test func gemmaTokenizerJSONRoundTrips() throws {
        let tokenizer = try SentencePieceTokenizerTests.gemma()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gemma-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(try tokenizer.tokenizerJSON().serialized.utf8).write(to: URL(fileURLWithPath: path))
        let reloaded = try Tokenizer.load(tokenizerJSON: path)
        let fixture = try SentencePieceTokenizerTests.fixture()
        expectSameIds(reloaded, fixture.ids, special: fixture.ids_special, label: "Gemma 3 via tokenizer.json")
    }
}

/// SentencePiece Unigram as transformers builds it for DeBERTa-v2/v3 from an spm.model (two
/// tiny models trained with sentencepiece, one with byte fallback; fixtures by
/// scripts/fixtures/make_unigram_fixtures.py): ids against `tokenizers` on the corpus.
@Suite struct UnigramTokenizerTests {
    struct Fixture: Decodable {
        let ids: [[Int]]
        let ids_special: [String: [Int]]
        let framed: [[Int]]
        let decoded: [String]
    }

    @Test(arguments: ["plain", "bytes"])
    func unigramMatchesTokenizers(name: String) throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: tokenizerFixtures.appendingPathComponent("unigram-\(name).tokenizer.json").path)
        let fixture = try fixtureJSON("unigram-\(name).json", as: Fixture.self)
        #expect(tokenizer.kind == .sentencePieceUnigram)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: name)
        for (i, want) in fixture.framed.enumerated() {
            #expect(tokenizer.encode(corpus[i], addSpecialTokens: true, recognizeSpecialTokens: true) == want, "\(name) framed \(i)")
        }
        expectSameDecoding(tokenizer, fixture.ids, fixture.decoded, label: name)
    }
}
