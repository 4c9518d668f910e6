/// Decodes a stream of ids into text as they arrive (generation output), never emitting
/// half of a UTF-8 character: bytes of an unfinished character wait for the next id.
/// Bytes that can never become a character come out as U+FFFD, as in `decode`.
public struct StreamingDecoder: Sendable {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    private var pending: [UInt8] = []
    private var count = 0

    init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The text that `id` completes (possibly empty).
    public mutating func push(_ id: Int) -> String {
        guard id >= 0, id < tokenizer.tokens.count, !(skipSpecialTokens && tokenizer.specialIds.contains(id)) else { return "" }
        defer { count += 1 }
        switch tokenizer.kind {
        case .wordPiece:
            return Tokenizer.wordPiecePiece(tokenizer.tokens[id], first: count == 0)
        case .byteLevelBPE, .sentencePieceBPE, .sentencePieceUnigram:
            let bytes = tokenizer.tokenBytes[id]
            pending += count == 0 && tokenizer.stripsLeadingSpace && bytes.first == 0x20 ? bytes.dropFirst() : bytes[...]
            let cut = StreamingDecoder.completePrefix(pending)
            guard cut > 0 else { return "" }
            let text = String(decoding: pending[0..<cut], as: UTF8.self)
            pending.removeFirst(cut)
            return text
        }
    }

    /// Whatever is left at the end of the stream (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix that can be decoded now: everything except a trailing,
    /// still-possible start of a multi-byte character.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the lead byte of an unfinished sequence.
        var k = n - 1
        while k >= 0 && k >= n - 3 && bytes[k] & 0xC0 == 0x80 { k -= 1 }
        guard k >= 0 else { return n }
        let lead = bytes[k]
        let needed: Int =
            switch lead {
            case 0xC2...0xDF: 2
            case 0xE0...0xEF: 3
            case 0xF0...0xF4: 4
            default: 1
            }
        return needed > n - k ? k : n
    }
}
