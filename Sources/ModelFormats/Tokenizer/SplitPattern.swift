/// The split regexes of byte-level BPE tokenizers, as hand-written scanners.
///
/// Tokenizers state these as regexes (`tokenizer.json` `Split` / `ByteLevel` pre-tokenizers,
/// llama.cpp's `tokenizer.ggml.pre`). Only a handful exist in practice, so instead of a
/// general regex engine each is a scanner that reproduces the leftmost-alternative,
/// greedy-with-backtracking match of the regex exactly, on Unicode scalars, without
/// allocating. An unknown regex is refused by name rather than approximated.
public enum SplitPattern: String, Sendable, CaseIterable {
    /// GPT-2 / SmolLM: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`,
    /// punctuation runs that take trailing newlines, newline runs.
    case llama3
    /// Qwen2 / Qwen2.5: as Llama 3 but one digit per piece.
    case qwen2

    public var regex: String {
        switch self {
        case .gpt2: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3:
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        case .qwen2:
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The pattern a regex spells, or nil when it is not one of the known ones.
    public init?(regex: String) {
        guard let found = SplitPattern.allCases.first(where: { $0.regex == regex }) else { return nil }
        self = found
    }

    /// Appends to `pieces` the matches of the pattern in `lo..<hi` (they cover the range).
    func split(
        _ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
        into pieces: inout [Range<Int>]
    ) {
        var i = lo
        while i < hi {
            let end: Int
            switch self {
            case .gpt2: end = SplitPattern.matchGPT2(s, c, i, hi)
            case .llama3: end = SplitPattern.matchLlama3(s, c, i, hi, maxDigits: 3)
            case .qwen2: end = SplitPattern.matchLlama3(s, c, i, hi, maxDigits: 1)
            }
            pieces.append(i..<end)
            i = end
        }
    }

    private static let letter = CharacterClass.letter.rawValue
    private static let number = CharacterClass.number.rawValue
    private static let space = CharacterClass.whitespace.rawValue
    private static let other = CharacterClass.other.rawValue

    @inline(__always)
    private static func run(_ c: UnsafeBufferPointer<UInt8>, _ from: Int, _ hi: Int, _ cls: UInt8) -> Int {
        var k = from
        while k < hi && c[k] == cls { k += 1 }
        return k
    }

    /// Length of a contraction (`'s`, `'t`, `'m`, `'d`, `'re`, `'ve`, `'ll`) at `i`, or 0.
    @inline(__always)
    private static func contraction(_ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ hi: Int, caseless: Bool) -> Int {
        guard s[i] == 0x27, i + 1 < hi else { return 0 }
        let fold: (UInt32) -> UInt32 = { caseless && $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        let a = fold(s[i + 1])
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        default: break
        }
        guard i + 2 < hi else { return 0 }
        let b = fold(s[i + 2])
        switch (a, b) {
        case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C): return 3  // re ve ll
        default: return 0
        }
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar: a run followed by a non-space gives up its
    /// last scalar (which then leads the next piece), unless the run is one scalar long.
    @inline(__always)
    private static func whitespaceRun(_ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> Int {
        let k = run(c, i, hi, space)
        if k == hi || k - i == 1 { return k }
        return k - 1
    }

    private static func matchGPT2(_ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> Int {
        let n = contraction(s, i, hi, caseless: false)
        if n > 0 { return i + n }
        // ` ?X+` for letters, numbers, then other: the optional space only counts when
        // the class follows it.
        let j = (s[i] == 0x20 && i + 1 < hi) ? i + 1 : i
        let cls = c[j]
        if cls != space { return run(c, j + 1, hi, cls) }
        if j != i {  // a space followed by whitespace: the space alone cannot start X+
            return whitespaceRun(c, i, hi)
        }
        return whitespaceRun(c, i, hi)
    }

    @inline(__always)
    private static func isNewline(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }

    private static func matchLlama3(
        _ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int, maxDigits: Int
    ) -> Int {
        let n = contraction(s, i, hi, caseless: true)
        if n > 0 { return i + n }
        let cls = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if cls == letter { return run(c, i + 1, hi, letter) }
        if cls != number && !isNewline(s[i]) && i + 1 < hi && c[i + 1] == letter {
            return run(c, i + 2, hi, letter)
        }
        // \p{N}{1,maxDigits}
        if cls == number { return min(run(c, i, hi, number), i + maxDigits) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var j = i
        if s[i] == 0x20 && i + 1 < hi && c[i + 1] == other { j = i + 1 }
        if c[j] == other {
            var k = run(c, j, hi, other)
            while k < hi && isNewline(s[k]) { k += 1 }
            return k
        }
        // Whitespace from here on. `\s*[\r\n]+`: up to the last newline of the run.
        let k = run(c, i, hi, space)
        var last = k - 1
        while last >= i && !isNewline(s[last]) { last -= 1 }
        if last >= i { return last + 1 }
        return whitespaceRun(c, i, hi)
    }
}
