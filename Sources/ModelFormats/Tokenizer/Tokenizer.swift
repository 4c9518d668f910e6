import SafeTensors

/// A text tokenizer: byte-level BPE (GPT-2 family: SmolLM2, Qwen2.5, Llama 3, Mistral
/// Nemo…), SentencePiece-style BPE (Gemma, Llama 2, Mistral v0.1), SentencePiece Unigram
/// (DeBERTa-v2/v3, T5, ALBERT) or WordPiece (BERT),
/// loaded from `tokenizer.json`, `vocab.txt` or GGUF metadata.
///
/// Thread-safe: the only mutable state is the BPE piece cache, behind a lock.
public final class Tokenizer: Sendable {
    public enum Kind: String, Sendable {
        case byteLevelBPE = "byte-level BPE"
        case sentencePieceBPE = "SentencePiece BPE"
        case sentencePieceUnigram = "SentencePiece Unigram"
        case wordPiece = "WordPiece"
    }

    enum Model: Sendable {
        case bpe(BPEModel, ByteLevelPipeline)
        case sentencePiece(SentencePieceBPE)
        case unigram(UnigramModel, stripLeadingSpace: Bool)
        case wordPiece(WordPieceModel, BertTextSplitter)
    }

    public let kind: Kind
    /// Where it was loaded from (for messages).
    public let source: String
    let model: Model
    /// Vocabulary spelling of each id ("" for gaps).
    let tokens: [String]
    let tokenIds: [String: Int]
    /// Bytes each id decodes to (BPE only).
    let tokenBytes: [[UInt8]]
    public let addedTokens: [AddedToken]
    /// Added tokens matched in the raw input.
    let matcher: AddedTokenMatcher
    /// Unigram models' `normalized` added tokens (contents normalised too), matched in each
    /// raw stretch after the normaliser ran over it, as `tokenizers` does.
    let normalizedMatcher: AddedTokenMatcher?
    public let specialIds: Set<Int>
    public let postProcessor: PostProcessor
    public let bosId: Int?
    public let eosId: Int?
    public let padId: Int?
    public let unknownId: Int?

    init(
        kind: Kind, source: String, model: Model, tokens: [String], addedTokens: [AddedToken],
        postProcessor: PostProcessor, bosId: Int?, eosId: Int?, padId: Int?, unknownId: Int?
    ) {
        self.kind = kind
        self.source = source
        self.model = model
        var all = tokens
        for added in addedTokens {
            if added.id >= all.count { all += [String](repeating: "", count: added.id - all.count + 1) }
            all[added.id] = added.content
        }
        self.tokens = all
        var ids: [String: Int] = [:]
        ids.reserveCapacity(all.count)
        for (id, token) in all.enumerated() where !token.isEmpty && ids[token] == nil { ids[token] = id }
        self.tokenIds = ids
        switch model {
        case .bpe: tokenBytes = all.map { ByteLevelAlphabet.bytes(of: $0) ?? Array($0.utf8) }
        case .sentencePiece(let spm):
            let byteIds = spm.byteFallbackDecoding ? Set(spm.byteFallbackIds ?? []) : []
            tokenBytes = all.enumerated().map { SentencePieceBPE.bytes(of: $1, isByteToken: byteIds.contains(Int32($0))) }
        case .unigram(let unigram, _):
            let byteIds = unigram.byteFallbackDecoding ? Set(unigram.byteFallbackIds ?? []) : []
            tokenBytes = all.enumerated().map { SentencePieceBPE.bytes(of: $1, isByteToken: byteIds.contains(Int32($0))) }
        case .wordPiece: tokenBytes = []
        }
        self.addedTokens = addedTokens
        if case .unigram(let unigram, _) = model, addedTokens.contains(where: \.normalized) {
            self.matcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
            self.normalizedMatcher = AddedTokenMatcher(
                addedTokens.filter(\.normalized).map {
                    AddedToken(
                        id: $0.id, content: unigram.normalizer.apply($0.content[...]), special: $0.special,
                        leftStrip: $0.leftStrip, rightStrip: $0.rightStrip, normalized: true)
                })
        } else {
            self.matcher = AddedTokenMatcher(addedTokens)
            self.normalizedMatcher = nil
        }
        self.specialIds = Set(addedTokens.filter(\.special).map(\.id))
        self.postProcessor = postProcessor
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
        self.unknownId = unknownId
    }

    /// Number of ids (the largest id + 1).
    public var vocabularySize: Int { tokens.count }

    /// The vocabulary spelling of an id (`Ġworld`, `##ing`, `<|im_end|>`).
    public func token(_ id: Int) -> String? {
        id >= 0 && id < tokens.count && !tokens[id].isEmpty ? tokens[id] : nil
    }

    public func id(of token: String) -> Int? { tokenIds[token] }

    // MARK: Encoding

    /// Ids of `text`. Special tokens written in the text are recognised only when
    /// `recognizeSpecialTokens` is set; `addSpecialTokens` applies the post-processor
    /// (BOS, or `[CLS] … [SEP]`).
    public func encode(_ text: String, addSpecialTokens: Bool = false, recognizeSpecialTokens: Bool = false) -> [Int] {
        let ids = encodeRaw(text, recognizeSpecialTokens: recognizeSpecialTokens)
        return addSpecialTokens ? postProcessor.apply(first: ids, second: nil).ids : ids
    }

    /// A full encoding of a text or a pair, with the post-processor, truncation and padding.
    public func encode(
        _ first: String, pair second: String? = nil, addSpecialTokens: Bool = true,
        recognizeSpecialTokens: Bool = false, truncation: Truncation? = nil, padding: Padding? = nil
    ) throws(TokenizerError) -> Encoding {
        var a = encodeRaw(first, recognizeSpecialTokens: recognizeSpecialTokens)
        var b = second.map { encodeRaw($0, recognizeSpecialTokens: recognizeSpecialTokens) }
        let processor = addSpecialTokens ? postProcessor : .none
        if let truncation {
            try truncation.apply(first: &a, second: &b, added: processor.addedCount(pair: b != nil))
        }
        var encoding = processor.apply(first: a, second: b)
        if let padding, case .fixed(let length) = padding.length { padding.apply(&encoding, to: length) }
        return encoding
    }

    /// Encodes several texts, padded together when `padding` asks for the longest.
    public func encodeBatch(
        _ texts: [String], addSpecialTokens: Bool = true, truncation: Truncation? = nil, padding: Padding? = nil
    ) throws(TokenizerError) -> [Encoding] {
        var out: [Encoding] = []
        for text in texts {
            out.append(try encode(text, addSpecialTokens: addSpecialTokens, truncation: truncation, padding: padding))
        }
        if let padding, padding.length == .longest {
            let longest = out.map(\.ids.count).max() ?? 0
            for i in out.indices { padding.apply(&out[i], to: longest) }
        }
        return out
    }

    func encodeRaw(_ text: String, recognizeSpecialTokens: Bool) -> [Int] {
        encodeRaw(text) { _ in recognizeSpecialTokens }
    }

    func encodeRaw(_ text: String, specialAllowed: (Int) -> Bool) -> [Int] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        let segments: [InputSegment] =
            addedTokens.isEmpty ? [.text(text[...])] : matcher.segments(of: text, specialAllowed: specialAllowed)
        for segment in segments {
            switch segment {
            case .token(let id): ids.append(Int32(id))
            case .text(let part):
                switch model {
                case .bpe(let bpe, let pipeline):
                    pipeline.forEachPiece(part) { bytes in bpe.encode(bytes, into: &ids) }
                case .sentencePiece(let spm):
                    spm.encode(part, atStart: part.startIndex == text.startIndex, into: &ids)
                case .unigram(let unigram, _):
                    encodeUnigram(unigram, part, of: text, specialAllowed: specialAllowed, into: &ids)
                case .wordPiece(let wordPiece, let splitter):
                    for word in splitter.split(splitter.normalize(part)) { wordPiece.encode(word, into: &ids) }
                }
            }
        }
        return ids.map { Int($0) }
    }

    /// One raw stretch through a Unigram model; with `normalized` added tokens, the stretch is
    /// normalised once, split at them, and the pieces between encoded as they are.
    private func encodeUnigram(
        _ unigram: UnigramModel, _ part: Substring, of text: String, specialAllowed: (Int) -> Bool, into ids: inout [Int32]
    ) {
        let atStart = part.startIndex == text.startIndex
        guard let normalizedMatcher else { return unigram.encode(part, atStart: atStart, into: &ids) }
        let normalized = unigram.normalizer.apply(part)
        let offset = text.utf8.distance(from: text.startIndex, to: part.startIndex)
        for piece in normalizedMatcher.segments(of: normalized, specialAllowed: { _ in specialAllowed(offset) }) {
            switch piece {
            case .token(let id): ids.append(Int32(id))
            case .text(let t): unigram.encode(t, atStart: atStart && t.startIndex == normalized.startIndex, normalized: true, into: &ids)
            }
        }
    }

    // MARK: Decoding

    /// Text of `ids`; byte-level decoding replaces invalid UTF-8 by U+FFFD. Ids out of range
    /// are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let kept = ids.filter { $0 >= 0 && $0 < tokens.count && !(skipSpecialTokens && specialIds.contains($0)) }
        switch kind {
        case .byteLevelBPE, .sentencePieceBPE, .sentencePieceUnigram:
            var bytes: [UInt8] = []
            for id in kept { bytes += tokenBytes[id] }
            if stripsLeadingSpace && bytes.first == 0x20 { bytes.removeFirst() }
            return String(decoding: bytes, as: UTF8.self)
        case .wordPiece:
            return decodeWordPiece(kept)
        }
    }

    /// Decoding drops one leading space (SentencePiece models that put one in front).
    var stripsLeadingSpace: Bool {
        switch model {
        case .sentencePiece(let spm): spm.stripLeadingSpace
        case .unigram(_, let strip): strip
        default: false
        }
    }

    /// `tokenizers`' WordPiece decoder: `##` pieces join the previous token, others get a
    /// leading space; the clean-up (` .` → `.`, ` n't` → `n't`…) applies to each token on
    /// its own, as the Rust decoder does.
    private func decodeWordPiece(_ ids: [Int]) -> String {
        var text = ""
        for (i, id) in ids.enumerated() { text += Tokenizer.wordPiecePiece(tokens[id], first: i == 0) }
        return text
    }

    static func wordPiecePiece(_ token: String, first: Bool) -> String {
        var piece = token
        if !first {
            if token.utf8.starts(with: "##".utf8) {
                piece = String(decoding: token.utf8.dropFirst(2), as: UTF8.self)
            } else {
                piece = " " + token
            }
        }
        for (from, to) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ] where piece.utf8.count >= from.utf8.count {
            piece = piece.replacingAll(from, with: to)
        }
        return piece
    }

    /// A decoder that takes one id at a time and returns only complete characters.
    public func streamingDecoder(skipSpecialTokens: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }
}
