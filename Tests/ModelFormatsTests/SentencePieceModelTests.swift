import Foundation
import Testing

@testable import ModelFormats

/// DeBERTa-v3's tokenizer as microsoft/deberta-v3-large ships it — spm.model (a SentencePiece
/// protobuf), added_tokens.json, no tokenizer.json — against the sentencepiece library (as
/// bert_score ran it under transformers 4) on a tiny model trained by sentencepiece with
/// nmt_nfkc (fixtures by scripts/fixtures/make_deberta_fixtures.py and
/// make_sentencepiece_fixtures.py); and spm.model files damaged on purpose.
@Suite struct SentencePieceModelTests {
    struct Fixture: Decodable {
        let texts: [String]
        let plain: [[Int]]
        let special: [[Int]]
        let normalized: [String]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/tiny-deberta-v3")

    static func fixture() throws -> Fixture {
        let url = folder.deletingLastPathComponent().appendingPathComponent("tiny-deberta-v3-spm.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// Ids of 400 corpus entries and 22 strings the character map changes ("…", ligatures,
    /// full-width forms, odd spaces, controls), with special tokens as text and recognised
    /// (the slow tokenizer's split), and framed in [CLS] … [SEP].
    @Test func debertaSpmModelMatchesSentencePiece() throws {
        let tokenizer = try ModelFiles(path: Self.folder.path).loadTokenizer()
        let fixture = try Self.fixture()
        #expect(tokenizer.kind == .sentencePieceUnigram && tokenizer.vocabularySize == 1001)
        for (label, recognize, want) in [("plain", false, fixture.plain), ("special tokens", true, fixture.special)] {
            let wrong = fixture.texts.indices.filter { tokenizer.encode(fixture.texts[$0], recognizeSpecialTokens: recognize) != want[$0] }
            for i in wrong.prefix(3) {
                let got = tokenizer.encode(fixture.texts[i], recognizeSpecialTokens: recognize)
                Issue.record("\(label) \(i) \(fixture.texts[i].debugDescription): \(got) vs \(want[i])")
            }
            #expect(wrong.isEmpty, "\(label): \(wrong.count) of \(fixture.texts.count) texts differ")
        }
        let (cls, sep) = (try #require(tokenizer.id(of: "[CLS]")), try #require(tokenizer.id(of: "[SEP]")))
        #expect(tokenizer.encode(fixture.texts[400], addSpecialTokens: true) == [cls] + fixture.plain[400] + [sep])
        // added_tokens.json's [MASK] sits past the pieces; [PAD] [CLS] [SEP] are the control pieces.
        #expect(tokenizer.id(of: "[MASK]") == 1000 && tokenizer.id(of: "[PAD]") == 0 && cls == 1)
    }

    /// The normaliser alone (the file's nmt_nfkc map, extra spaces removed) against
    /// sentencepiece's `normalize`, spaces shown as "▁" and one put in front.
    @Test func precompiledCharsmapNormalizesAsSentencePiece() throws {
        let tokenizer = try ModelFiles(path: Self.folder.path).loadTokenizer()
        guard case .unigram(let unigram, _) = tokenizer.model else { Issue.record("not a Unigram model"); return }
        let fixture = try Self.fixture()
        let wrong = fixture.texts.indices.filter {
            let ours = unigram.normalizer.apply(fixture.texts[$0][...]).replacingOccurrences(of: " ", with: "\u{2581}")
            return (ours.isEmpty ? "" : "\u{2581}" + ours) != fixture.normalized[$0]
        }
        for i in wrong.prefix(3) {
            Issue.record(
                "\(fixture.texts[i].debugDescription): \(unigram.normalizer.apply(fixture.texts[i][...]).debugDescription) vs \(fixture.normalized[i].debugDescription)"
            )
        }
        #expect(wrong.isEmpty, "\(wrong.count) texts normalised differently")
        #expect(throws: PrecompiledCharsmap.Malformed.self) { try PrecompiledCharsmap([0x10, 0, 0, 0, 1, 2]) }
        #expect(throws: PrecompiledCharsmap.Malformed.self) { try PrecompiledCharsmap([1, 2]) }
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
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(sentencePieceModel: scratch.appendingPathComponent("absent").path, settings: nil)
        }
    }
}
