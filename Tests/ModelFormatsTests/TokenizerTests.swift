import Foundation
import ModelStore
import Testing

@testable import ModelFormats

/// Fixtures written by scripts/fixtures/make_tokenizer_fixtures.py (transformers / tokenizers).
let tokenizerFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tokenizer")

func fixtureJSON<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: tokenizerFixtures.appendingPathComponent(name)))
}

struct IdFixture: Decodable {
    let ids: [[Int]]
    let ids_special: [String: [Int]]
}

struct MiniLMFixture: Decodable {
    struct Pair: Decodable {
        let first: String
        let second: String
        let max_length: Int
        let strategy: String
        let pad_to: Int
        let ids: [Int]
        let type_ids: [Int]
        let attention_mask: [Int]
    }
    let ids: [[Int]]
    let ids_special: [String: [Int]]
    let decoded: [String]
    let pairs: [Pair]
}

let corpus: [String] = (try? fixtureJSON("corpus.json", as: [String].self)) ?? []

/// Compares ids line by line and reports the first few mismatches with their text.
func expectSameIds(
    _ tokenizer: Tokenizer, _ expected: [[Int]], special: [String: [Int]], label: String, addSpecialTokens: Bool = false
) {
    var mismatches = 0
    for (i, want) in expected.enumerated() {
        let got = tokenizer.encode(corpus[i], addSpecialTokens: addSpecialTokens)
        if got != want {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(label) entry \(i) \(corpus[i].debugDescription): got \(got), want \(want)") }
        }
        let wantSpecial = special[String(i)] ?? want
        let gotSpecial = tokenizer.encode(corpus[i], addSpecialTokens: addSpecialTokens, recognizeSpecialTokens: true)
        if gotSpecial != wantSpecial {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(label) entry \(i) with special tokens: got \(gotSpecial), want \(wantSpecial)") }
        }
    }
    #expect(mismatches == 0, "\(label): \(mismatches) mismatches")
}

@Suite struct TokenizerTests {
    static func smolLM() throws -> Tokenizer {
        let path = try ModelStore().resolve("smollm2-135m-instruct", pull: false).path
        return try Tokenizer.load(gguf: GGUFFile(path: path))
    }

    static func miniLMFolder() throws -> String {
        try ModelStore().resolve("all-minilm-l6-v2", pull: false).path
    }

    @Test func corpusIsLargeAndVaried() {
        #expect(corpus.count >= 2000)
        #expect(corpus.contains { $0.contains("\t") } && corpus.contains { $0.contains("👨‍👩‍👧‍👦") })
    }

    @Test func smolLMFromGGUFMatchesTransformers() throws {
        let tokenizer = try Self.smolLM()
        #expect(tokenizer.kind == .byteLevelBPE)
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosId == 1 && tokenizer.eosId == 2)
        let fixture = try fixtureJSON("smollm2.json", as: IdFixture.self)
        #expect(fixture.ids.count == corpus.count)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "SmolLM2")
    }

    @Test func byteLevelDecodingIsLossless() throws {
        let tokenizer = try Self.smolLM()
        for text in corpus {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
            #expect(tokenizer.decode(tokenizer.encode(text, recognizeSpecialTokens: true)) == text)
        }
    }

    @Test func specialTokensAreRecognisedOnlyWhenAsked() throws {
        let tokenizer = try Self.smolLM()
        let text = "<|im_start|>user\nhi<|im_end|>"
        let plain = tokenizer.encode(text)
        let special = tokenizer.encode(text, recognizeSpecialTokens: true)
        #expect(special.first == 1 && special.last == 2)
        #expect(!plain.contains(1) && !plain.contains(2))
        #expect(tokenizer.decode(special, skipSpecialTokens: true) == "user\nhi")
    }

    @Test func streamingDecodeNeverSplitsCharacters() throws {
        let tokenizer = try Self.smolLM()
        for text in corpus.prefix(400) {
            var decoder = tokenizer.streamingDecoder()
            var out = ""
            for id in tokenizer.encode(text) {
                let piece = decoder.push(id)
                #expect(!piece.unicodeScalars.contains("\u{FFFD}") || text.unicodeScalars.contains("\u{FFFD}"))
                out += piece
            }
            out += decoder.finish()
            #expect(out == text)
        }
        // An unfinished character at the end of the stream becomes U+FFFD, as `decode` does.
        var decoder = tokenizer.streamingDecoder()
        let euro = tokenizer.encode("€")  // three bytes
        if euro.count > 1 {
            _ = decoder.push(euro[0])
            #expect(decoder.finish() == "\u{FFFD}")
        }
    }

    @Test(arguments: ["gpt2", "llama3", "qwen2"])
    func trainedTokenizerJSONMatchesTokenizers(name: String) throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: tokenizerFixtures.appendingPathComponent("tiny-\(name).tokenizer.json").path)
        let fixture = try fixtureJSON("tiny-\(name).json", as: IdFixture.self)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "tiny-\(name)")
        for text in corpus.prefix(600) where name != "qwen2" {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }

    /// The same vocabulary and merges as GGUF metadata give the same ids, with BOS added
    /// when the file says `add_bos_token`.
    @Test func ggufMetadataTokenizerMatchesItsTokenizerJSON() throws {
        let file = try GGUFFile(path: tokenizerFixtures.appendingPathComponent("tiny-tokenizer.gguf").path)
        let tokenizer = try Tokenizer.load(gguf: file)
        let fixture = try fixtureJSON("tiny-gpt2.json", as: IdFixture.self)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "tiny GGUF")
        #expect(tokenizer.encode("hi", addSpecialTokens: true).first == 1)
        #expect(try ModelFiles(path: file.path).chatTemplate().familyName == "chatml")
    }

    @Test func miniLMWordPieceMatchesTokenizers() throws {
        let folder = try Self.miniLMFolder()
        let tokenizer = try Tokenizer.load(tokenizerJSON: folder + "/tokenizer.json")
        #expect(tokenizer.kind == .wordPiece)
        let fixture = try fixtureJSON("minilm.json", as: MiniLMFixture.self)
        expectSameIds(tokenizer, fixture.ids, special: fixture.ids_special, label: "MiniLM", addSpecialTokens: true)
        for (i, want) in fixture.decoded.enumerated() {
            #expect(tokenizer.decode(fixture.ids[i], skipSpecialTokens: true) == want, "entry \(i)")
        }
        for pair in fixture.pairs {
            let encoding = try tokenizer.encode(
                pair.first, pair: pair.second,
                truncation: Truncation(maxLength: pair.max_length, strategy: Truncation.Strategy(rawValue: pair.strategy)!),
                padding: Padding(length: .fixed(pair.pad_to)))
            #expect(encoding.ids == pair.ids)
            #expect(encoding.typeIds == pair.type_ids)
            #expect(encoding.attentionMask == pair.attention_mask)
        }
    }

    @Test func vocabTXTGivesTheSameIdsAsTokenizerJSON() throws {
        let folder = try Self.miniLMFolder()
        let fromJSON = try Tokenizer.load(tokenizerJSON: folder + "/tokenizer.json")
        let fromTXT = try Tokenizer.load(vocabTXT: folder + "/vocab.txt")
        for text in corpus.prefix(500) {
            #expect(fromTXT.encode(text, addSpecialTokens: true) == fromJSON.encode(text, addSpecialTokens: true))
        }
    }

    /// A few MB of text in one call (accents, CJK, upper case, control characters) gives the
    /// ids of its lines encoded one by one: WordPiece splits on whitespace, so nothing may
    /// differ. Issue 18 item 15: this size took minutes when normalisation was quadratic
    /// (the speed itself is checked by scripts/bench-wordpiece-scale.sh, not here).
    @Test func wordPieceOnMegabytesEqualsItsLinesOneByOne() throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: try Self.miniLMFolder() + "/tokenizer.json")
        let lines =
            corpus.prefix(400).map { $0.replacingOccurrences(of: "\n", with: " ") } + [
                "Café NAÏVE résumé — Ångström", "北京大学的学生 Tokyo 東京", "tab\there\u{7}bell\u{0}nul", "ﬁ ligature ß Straße",
            ]
        var big = ""
        var expected: [Int] = []
        while big.utf8.count < 3 << 20 {
            for line in lines {
                big += line + "\n"
                expected += tokenizer.encode(line, addSpecialTokens: false)
            }
        }
        let got = tokenizer.encode(big, addSpecialTokens: false)
        #expect(got.count == expected.count)
        #expect(got == expected)
    }

    @Test func batchPaddingToTheLongest() throws {
        let tokenizer = try Tokenizer.load(tokenizerJSON: Self.miniLMFolder() + "/tokenizer.json")
        let batch = try tokenizer.encodeBatch(["short", "a somewhat longer sentence here"], padding: Padding(length: .longest))
        #expect(batch[0].ids.count == batch[1].ids.count)
        #expect(batch[0].attentionMask.filter { $0 == 1 }.count == 3)
        #expect(batch[1].attentionMask.allSatisfy { $0 == 1 })
    }

    @Test func longPiecesUseTheHeapMergeAndAgree() throws {
        let tokenizer = try Self.smolLM()
        // A 5,000-character word and a whitespace run: must finish quickly and decode back.
        let word = String(repeating: "abcde", count: 1000)
        #expect(tokenizer.decode(tokenizer.encode(word)) == word)
        let spaces = String(repeating: " ", count: 3000) + "x"
        #expect(tokenizer.decode(tokenizer.encode(spaces)) == spaces)
    }

    @Test func splitPatternsAreRecognisedFromTheirRegex() {
        for pattern in SplitPattern.allCases { #expect(SplitPattern(regex: pattern.regex) == pattern) }
        #expect(SplitPattern(regex: "\\w+") == nil)
    }
}
