/// A token matched whole in the input before any normalisation or splitting (chat markers,
/// `[CLS]`, `<think>`…). Special ones are only recognised when the caller asks for it, so
/// user text that happens to contain `<|im_end|>` cannot forge a turn boundary.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    public let special: Bool
    /// Whether the match absorbs whitespace on its left / right.
    public let leftStrip: Bool
    public let rightStrip: Bool
    /// Matched in the normalised text rather than the raw input (`tokenizers`' `normalized`;
    /// honoured for Unigram models, whose normaliser runs apart from the model: DeBERTa-v3's
    /// [MASK] from added_tokens.json is one, so "a [MASK]" keeps the "▁" the raw split loses).
    public let normalized: Bool

    public init(id: Int, content: String, special: Bool, leftStrip: Bool = false, rightStrip: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.normalized = normalized
    }
}

/// One stretch of input: text to tokenize, or an added token already identified.
enum InputSegment {
    case text(Substring)
    case token(Int)
}

/// Finds added tokens in text, leftmost first and longest among those starting at the
/// same place (the aho-corasick "leftmost longest" rule `tokenizers` uses).
struct AddedTokenMatcher: Sendable {
    /// Candidates by first byte, longest first.
    private let byFirstByte: [[(bytes: [UInt8], token: AddedToken)]]

    init(_ tokens: [AddedToken]) {
        var table = [[(bytes: [UInt8], token: AddedToken)]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append((bytes, token))
        }
        for i in 0..<256 { table[i].sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
    }

    /// `specialAllowed(offset)` says whether a special token may start at that byte.
    func segments(of text: String, specialAllowed: (Int) -> Bool) -> [InputSegment] {
        let utf8 = Array(text.utf8)
        var segments: [InputSegment] = []
        var textStart = 0
        var i = 0
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func substring(_ lo: Int, _ hi: Int) -> Substring {
            let start = text.utf8.index(text.utf8.startIndex, offsetBy: lo)
            let end = text.utf8.index(start, offsetBy: hi - lo)
            return text[start..<end]
        }
        while i < utf8.count {
            var matched: (bytes: [UInt8], token: AddedToken)?
            for candidate in byFirstByte[Int(utf8[i])] where !candidate.token.special || specialAllowed(i) {
                let n = candidate.bytes.count
                if i + n <= utf8.count && utf8[i..<(i + n)].elementsEqual(candidate.bytes) {
                    matched = candidate
                    break
                }
            }
            guard let match = matched else {
                i += 1
                continue
            }
            var textEnd = i
            if match.token.leftStrip { while textEnd > textStart && isSpace(utf8[textEnd - 1]) { textEnd -= 1 } }
            if textEnd > textStart { segments.append(.text(substring(textStart, textEnd))) }
            segments.append(.token(match.token.id))
            i += match.bytes.count
            if match.token.rightStrip { while i < utf8.count && isSpace(utf8[i]) { i += 1 } }
            textStart = i
        }
        if textStart < utf8.count { segments.append(.text(substring(textStart, utf8.count))) }
        return segments
    }
}
