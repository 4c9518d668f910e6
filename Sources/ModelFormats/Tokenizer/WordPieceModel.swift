/// WordPiece (BERT): each word becomes the longest vocabulary prefix, then the longest
/// `##`-prefixed continuation, and so on; a word that cannot be covered, or is longer than
/// `maxCharactersPerWord`, becomes the unknown token as a whole.
struct WordPieceModel: Sendable {
    let vocab: [String: Int32]
    let unknownId: Int32
    let continuationPrefix: String
    let maxCharactersPerWord: Int

    func encode(_ word: Substring, into out: inout [Int32]) {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maxCharactersPerWord else {
            out.append(unknownId)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int32?
            while start < end {
                var candidate = start > 0 ? continuationPrefix : ""
                candidate.unicodeScalars.append(contentsOf: scalars[start..<end])
                if let id = vocab[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                out.append(unknownId)
                return
            }
            pieces.append(id)
            start = end
        }
        out.append(contentsOf: pieces)
    }
}

/// BERT's normaliser and pre-tokeniser (Hugging Face `BertNormalizer` + `BertPreTokenizer`):
/// drop control characters, map whitespace to spaces, put spaces around CJK ideographs,
/// strip accents (NFD, drop non-spacing marks), lower-case; then split on whitespace and
/// isolate every punctuation character.
struct BertTextSplitter: Sendable {
    var cleanText = true
    var handleChineseCharacters = true
    var stripAccents = true
    var lowercase = true

    /// Normalised text. Linear in the input: every stage appends to a scalar array and the
    /// string is built once per stage (appending a `String`'s scalars to a
    /// `String.UnicodeScalarView` reserves exactly, so it copies the whole view each time:
    /// that made 16 MB take 88 s).
    func normalize(_ text: Substring) -> String {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || BertTextSplitter.isControl(scalar) { continue }
                if BertTextSplitter.isWhitespace(scalar) {
                    scalars.append(" ")
                    continue
                }
            }
            if handleChineseCharacters && BertTextSplitter.isCJK(scalar.value) {
                scalars.append(" ")
                scalars.append(scalar)
                scalars.append(" ")
                continue
            }
            scalars.append(scalar)
        }
        if stripAccents {
            scalars = UnicodeNormalization.nfd(BertTextSplitter.string(scalars)[...]).filter {
                $0.properties.generalCategory != .nonspacingMark
            }
        }
        if lowercase { scalars = BertTextSplitter.lowercased(scalars) }
        return BertTextSplitter.string(scalars)
    }

    /// Lower-case mapping scalar by scalar (ASCII without a table look-up).
    static func lowercased(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var lowered: [Unicode.Scalar] = []
        lowered.reserveCapacity(scalars.count)
        for scalar in scalars {
            if scalar.isASCII {
                lowered.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar)
            } else {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return lowered
    }

    static func string(_ scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Words and punctuation of normalised text.
    func split(_ text: String) -> [Substring] {
        var words: [Substring] = []
        let scalars = text.unicodeScalars
        var wordStart: String.UnicodeScalarView.Index?
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let scalar = scalars[i]
            let next = scalars.index(after: i)
            if BertTextSplitter.isWhitespace(scalar) || BertTextSplitter.isPunctuation(scalar) {
                if let start = wordStart { words.append(Substring(scalars[start..<i])) }
                wordStart = nil
                if BertTextSplitter.isPunctuation(scalar) { words.append(Substring(scalars[i..<next])) }
            } else if wordStart == nil {
                wordStart = i
            }
            i = next
        }
        if let start = wordStart { words.append(Substring(scalars[start..<scalars.endIndex])) }
        return words
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
