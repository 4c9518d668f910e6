/// SentencePiece Unigram (DeBERTa-v2/v3, T5, ALBERT, XLNet), as Hugging Face `tokenizers`
/// runs it: the text normalised (`UnigramNormalizer`), spaces made the metaspace "▁" (one put
/// in front as the pre-tokenizer says) and cut before each "▁"; then each piece is segmented
/// by Viterbi — the split into vocabulary pieces whose scores (log-probabilities) sum highest.
/// A character no piece starts with is the unknown token at the lowest score less 10;
/// consecutive unknown characters fuse into one unknown token, which byte fallback (when the
/// model has it and every `<0xNN>` token) spells as its UTF-8 bytes instead.
struct UnigramModel: Sendable {
    typealias Spelling = [UInt8]

    /// Id of each exact spelling (the last id of a repeated one, as `tokenizers`' map keeps).
    let ids: [Spelling: Int32]
    let scores: [Double]
    /// The longest piece, in Unicode scalars (bounds the look-ups from each position).
    let longestPiece: Int
    let unknownId: Int32
    /// The unknown token's score: the lowest piece score less 10 (`kUnkPenalty`).
    let unknownScore: Double
    /// Id of `<0xNN>` for each byte, when byte fallback is on and all 256 are present.
    let byteFallbackIds: [Int32]?
    var normalizer: UnigramNormalizer
    /// Decoding turns `<0xNN>` tokens back into bytes (a `ByteFallback` decoder step; without
    /// one they decode as their text, as `tokenizers` does).
    var byteFallbackDecoding = true
    var prepend: SentencePieceBPE.Prepend
    var splitAtMetaspace: Bool
    /// Path scores kept in float32, as the sentencepiece library keeps them (`tokenizers` uses
    /// float64): runs like "-----" have splits whose scores tie up to rounding, and the rounding
    /// picks one. sentencepiece adds a piece's score in double (its score expression is a
    /// double), compares in double and stores the sum as float; an unknown's in float.
    let float32Scores: Bool

    /// `pieces` with an empty text are never matched (sentencepiece's control, unknown, byte
    /// and unused pieces) but keep their ids.
    init(
        pieces: [(String, Double)], unknownId: Int, byteFallback: Bool, normalizer: UnigramNormalizer,
        prepend: SentencePieceBPE.Prepend, splitAtMetaspace: Bool, float32Scores: Bool = false
    ) {
        var ids: [Spelling: Int32] = [:]
        var longest = 1
        for (id, (piece, _)) in pieces.enumerated() where !piece.isEmpty {
            ids[Array(piece.utf8)] = Int32(id)
            longest = max(longest, piece.unicodeScalars.count)
        }
        self.ids = ids
        scores = pieces.map(\.1)
        longestPiece = longest
        self.unknownId = Int32(unknownId)
        unknownScore = float32Scores ? Double(Float(scores.min() ?? 0) - 10) : (scores.min() ?? 0) - 10
        self.float32Scores = float32Scores
        let fallback = (0..<256).map { ids[Array(SentencePieceBPE.byteTokenName(UInt8($0)).utf8)] }
        byteFallbackIds = byteFallback && fallback.allSatisfy({ $0 != nil }) ? fallback.map { $0 ?? -1 } : nil
        self.normalizer = normalizer
        self.prepend = prepend
        self.splitAtMetaspace = splitAtMetaspace
    }

    /// Appends the ids of `text` (a stretch between added tokens; `atStart` when it begins the
    /// whole input; `normalized` when the normaliser has already run over it).
    func encode(_ text: Substring, atStart: Bool, normalized: Bool = false, into out: inout [Int32]) {
        var scalars: [Unicode.Scalar] = []
        for s in (normalized ? String(text) : normalizer.apply(text)).unicodeScalars {
            scalars.append(s == " " ? SentencePieceBPE.metaspace : s)
        }
        guard !scalars.isEmpty else { return }
        if prepend == .always || (prepend == .first && atStart), scalars[0] != SentencePieceBPE.metaspace {
            scalars.insert(SentencePieceBPE.metaspace, at: 0)
        }
        var start = 0
        for k in 1...scalars.count where k == scalars.count || (splitAtMetaspace && scalars[k] == SentencePieceBPE.metaspace) {
            segment(scalars[start..<k], into: &out)
            start = k
        }
    }

    /// A path score as stored: rounded to float32 in sentencepiece's mode.
    private func stored(_ score: Double) -> Double { float32Scores ? Double(Float(score)) : score }

    /// Viterbi over one piece: `best[k]` is the highest-scoring split of the first k scalars
    /// (score, where its last token starts, that token's id).
    private func segment(_ piece: ArraySlice<Unicode.Scalar>, into out: inout [Int32]) {
        let chars = Array(piece)
        let utf8 = chars.map { Array(String($0).utf8) }
        var best = [(score: Double, start: Int, id: Int32)?](repeating: nil, count: chars.count + 1)
        best[0] = (0, 0, -1)
        for i in 0..<chars.count {
            guard let here = best[i] else { continue }
            var single = false
            var spelling: Spelling = []
            for end in (i + 1)...min(chars.count, i + longestPiece) {
                spelling += utf8[end - 1]
                guard let id = ids[spelling] else { continue }
                let candidate = here.score + scores[Int(id)]
                if best[end] == nil || candidate > best[end]!.score { best[end] = (stored(candidate), i, id) }
                if end == i + 1 { single = true }
            }
            if !single {
                let candidate = float32Scores ? Double(Float(here.score) + Float(unknownScore)) : here.score + unknownScore
                if best[i + 1] == nil || candidate > best[i + 1]!.score { best[i + 1] = (candidate, i, unknownId) }
            }
        }
        // Back from the end: tokens, with runs of unknown characters fused.
        var tokens: [(id: Int32, range: Range<Int>)] = []
        var end = chars.count
        while end > 0, let node = best[end] {
            if node.id == unknownId, let last = tokens.last, last.id == unknownId, last.range.lowerBound == end {
                tokens[tokens.count - 1].range = node.start..<last.range.upperBound
            } else {
                tokens.append((node.id, node.start..<end))
            }
            end = node.start
        }
        for token in tokens.reversed() {
            guard token.id == unknownId, let byteFallbackIds else {
                out.append(token.id)
                continue
            }
            for k in token.range { for byte in utf8[k] { out.append(byteFallbackIds[Int(byte)]) } }
        }
    }
}

/// The normalisers a Unigram tokenizer.json states, in order — those transformers writes for
/// DeBERTa-v2/v3 (`Replace(\s{2,}|[\n\r\t] → " ")`, `NFC`, `Strip` right) and `Lowercase`.
struct UnigramNormalizer: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        /// Runs of two or more white-space characters, and each newline, return or tab, → one space.
        case collapseWhitespace
        case nfc
        case lowercase
        case strip(left: Bool, right: Bool)
        /// A SentencePiece character map (nmt_nfkc and the like).
        case precompiled(PrecompiledCharsmap)
        /// sentencepiece's `remove_extra_whitespaces`: spaces (U+0020 only, after the map has
        /// made other white space one) dropped at both ends, runs of them made one.
        case removeExtraSpaces
    }

    var steps: [Step] = []

    func apply(_ text: Substring) -> String {
        var out = String(text)
        for step in steps {
            switch step {
            case .collapseWhitespace: out = Self.collapseWhitespace(out)
            case .nfc: out = UnicodeNormalization.nfc(out[...])
            case .lowercase: out = out.lowercased()
            case .strip(let left, let right):
                var scalars = Substring(out).unicodeScalars[...]
                while left, let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
                while right, let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
                out = String(String.UnicodeScalarView(scalars))
            case .precompiled(let map): out = map.normalize(out[...])
            case .removeExtraSpaces: out = Self.removeExtraSpaces(out)
            }
        }
        return out
    }

    /// By scalars, not characters: a space before a combining mark is still a space here.
    static func removeExtraSpaces(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar == " " {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(scalar)
        }
        return String(out)
    }

    static func collapseWhitespace(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            var j = i
            while j < scalars.count, scalars[j].properties.isWhitespace { j += 1 }
            if j - i >= 2 || (j - i == 1 && ["\n", "\r", "\t"].contains(scalars[i])) {
                out.append(" ")
                i = j
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }
}
