import Foundation
import Testing

@testable import ModelFormats

/// DeBERTa-v3's tokenizer as microsoft/deberta-v3-large ships it — spm.model (a SentencePiece
/// protobuf), added_tokens.json, no tokenizer.json — against transformers 5's
/// DebertaV2Tokenizer on a tiny model trained by sentencepiece (fixtures by
/// scripts/fixtures/make_deberta_fixtures.py); and spm.model files damaged on purpose.
@Suite struct SentencePieceModelTests {
    struct Fixture: Decodable {
        let ids: [[Int]]
        let framed: [[Int]]
        let vocab_size: Int
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/tiny-deberta-v3")

    static func fixture() throws -> Fixture {
        let url = folder.deletingLastPathComponent().appendingPathComponent("tiny-deberta-v3.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    @Test func debertaSpmModelMatchesTransformers() throws {
        let tokenizer = try ModelFiles(path: Self.folder.path).loadTokenizer()
        let fixture = try Self.fixture()
        #expect(tokenizer.kind == .sentencePieceUnigram)
        #expect(tokenizer.vocabularySize == fixture.vocab_size)
        // transformers' encode recognises special tokens written in the text (entry 7 has them,
        // [MASK] among them: a normalised added token, matched after the normaliser ran).
        let wrong = fixture.ids.indices.filter { tokenizer.encode(corpus[$0], recognizeSpecialTokens: true) != fixture.ids[$0] }
        for i in wrong.prefix(3) { Issue.record("entry \(i) \(corpus[i].debugDescription): \(tokenizer.encode(corpus[i], recognizeSpecialTokens: true)) vs \(fixture.ids[i])") }
        #expect(wrong.isEmpty, "\(wrong.count) of \(fixture.ids.count) entries differ")
        let framed = fixture.framed.indices.filter {
            tokenizer.encode(corpus[$0], addSpecialTokens: true, recognizeSpecialTokens: true) != fixture.framed[$0]
        }
        #expect(framed.isEmpty, "[CLS] … [SEP] differ on entries \(framed.prefix(5))")
        // added_tokens.json's [MASK] sits past the pieces; [PAD] [CLS] [SEP] are the control pieces.
        #expect(tokenizer.id(of: "[MASK]") == 1000 && tokenizer.id(of: "[PAD]") == 0 && tokenizer.id(of: "[CLS]") == 1)
    }

    /// The file itself: pieces, scores and the trainer's ids as sentencepiece wrote them.
    @Test func readsTheModelProto() throws {
        let file = try SentencePieceModelFile.read(Self.folder.appendingPathComponent("spm.model").path)
        #expect(file.modelType == .unigram && file.pieces.count == 1000)
        #expect(file.pieces[0].text == "[PAD]" && file.pieces[0].type == .control)
        #expect(file.pieces[3].text == "[UNK]" && file.pieces[3].type == .unknown && file.unknownId == 3)
        #expect(file.pieces[4...].allSatisfy { $0.score < 0 || $0.type != .normal })
    }

    /// Truncations at every eighth byte, flipped bytes and foreign files: an error naming the
    /// file (and where it went wrong), never a crash or a hang.
    @Test func damagedFilesAreNamedErrors() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("spm.model")))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = scratch.appendingPathComponent("spm.model").path
        var variants: [[UInt8]] = stride(from: 0, to: bytes.count, by: max(1, bytes.count / 64)).map { Array(bytes[..<$0]) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<64 {
            var flipped = bytes
            for _ in 0..<4 { flipped[Int.random(in: 0..<flipped.count, using: &generator)] ^= 0xFF }
            variants.append(flipped)
        }
        variants += [Array("{\"model\": {}}".utf8), [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]]
        var refused = 0
        for variant in variants {
            try Data(variant).write(to: URL(fileURLWithPath: path))
            do {
                _ = try Tokenizer.load(sentencePieceModel: path, settings: nil)
            } catch {
                refused += 1
                #expect(error.description.contains(path), "\(error)")
            }
        }
        #expect(refused >= variants.count / 2, "only \(refused) of \(variants.count) damaged files refused")
        #expect(throws: TokenizerError.self) { try Tokenizer.load(sentencePieceModel: scratch.appendingPathComponent("absent").path, settings: nil) }
    }
}
