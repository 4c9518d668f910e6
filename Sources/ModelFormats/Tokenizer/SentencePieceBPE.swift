/// SentencePiece-style BPE (Gemma, Llama 2, Mistral v0.1), as Hugging Face `tokenizers`
/// runs it: spaces become the metaspace "▁" (with one in front of the text when the model
/// asks), the text is cut before each "▁" only when the model says so (Gemma and Llama 2
/// keep it whole), each character starts as its own symbol — a character the vocabulary
/// lacks becomes the `<0xNN>` tokens of its UTF-8 bytes (byte fallback), or the unknown
/// token — and the merges apply exactly as in byte-level BPE.
struct SentencePieceBPE: Sendable {
    /// Where a "▁" is put in front of the text (tokenizers' `prepend_scheme`; a `Prepend`
    /// normaliser is `.always`: every stretch of text between added tokens).
    enum Prepend: String, Sendable, Equatable {
        case never, first, always
    }

    static let metaspace: Unicode.Scalar = "\u{2581}"

    /// Vocabulary look-ups go by UTF-8 bytes: Swift's `String` equality is canonical
    /// equivalence, under which distinct tokens ("·" U+0387 and "·" U+00B7, "có" composed and
    /// decomposed) would be one key.
    typealias Spelling = [UInt8]

    /// Id of each exact spelling (the last id of a repeated one, as transformers' dict keeps).
    static func exactIds(_ tokens: [String]) -> [Spelling: Int32] {
        var ids: [Spelling: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where !token.isEmpty { ids[Array(token.utf8)] = Int32(id) }
        return ids
    }

    /// Records merge `rank` (left + right → their join); false when a part or the join is
    /// not in the vocabulary. A repeated pair keeps its first (best) rank.
    static func addMerge(_ left: Substring, _ right: Substring, rank: Int, ids: [Spelling: Int32], to merges: inout [UInt64: UInt64])
        -> Bool
    {
        guard let l = ids[Array(left.utf8)], let r = ids[Array(right.utf8)], let merged = ids[Array(left.utf8) + Array(right.utf8)] else {
            return false
        }
        let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
        if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }
        return true
    }

    /// The merge table (its byte ids unused).
    let merges: BPEModel
    /// Symbol id of each single-character token.
    let characterIds: [UInt32: Int32]
    /// Id of `<0xNN>` for each byte, when the vocabulary has all 256 (byte fallback).
    let byteFallbackIds: [Int32]?
    let unknownId: Int32?
    var prepend: Prepend
    /// The "▁" in front comes from a `Prepend` normaliser (Llama 2's tokenizer.json): put
    /// even before text that starts with a space, which the `Metaspace` step does not.
    var prefixFromNormalizer = false
    /// Decoding turns `<0xNN>` tokens back into bytes (a `ByteFallback` decoder step;
    /// without one they decode as their text, as `tokenizers` does).
    var byteFallbackDecoding = true
    /// Metaspace `split: true`: each piece starts at a "▁".
    var splitAtMetaspace: Bool
    /// Decoding drops one leading space (Llama 2's `Strip` decoder, a Metaspace decoder
    /// with a prefix).
    var stripLeadingSpace: Bool

    /// Appends the ids of `text` (a stretch between added tokens; `atStart` when it begins
    /// the whole input) to `ids`.
    func encode(_ text: Substring, atStart: Bool, into ids: inout [Int32]) {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count + 1)
        for s in text.unicodeScalars { scalars.append(s == " " ? Self.metaspace.value : s.value) }
        guard !scalars.isEmpty else { return }
        if prepend == .always || (prepend == .first && atStart), prefixFromNormalizer || scalars[0] != Self.metaspace.value {
            scalars.insert(Self.metaspace.value, at: 0)
        }
        var start = 0
        for k in 1...scalars.count where k == scalars.count || (splitAtMetaspace && scalars[k] == Self.metaspace.value) {
            ids.append(contentsOf: merges.merge(symbols(scalars[start..<k])))
            start = k
        }
    }

    /// The starting symbols of a piece: one per character, byte fallback for the others
    /// (consecutive unknown characters fuse into one unknown token, as `fuse_unk` does).
    private func symbols(_ piece: ArraySlice<UInt32>) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(piece.count)
        var bytes: [UInt8] = []
        for v in piece {
            if let id = characterIds[v] {
                out.append(id)
            } else if let byteFallbackIds {
                bytes.removeAll(keepingCapacity: true)
                ByteLevelPipeline.appendUTF8(v, to: &bytes)
                for b in bytes { out.append(byteFallbackIds[Int(b)]) }
            } else if let unknownId, out.last != unknownId {
                out.append(unknownId)
            }
        }
        return out
    }

    /// The bytes a vocabulary token stands for: `<0xNN>` byte tokens their byte, others their
    /// text with "▁" read as a space.
    static func bytes(of token: String, isByteToken: Bool) -> [UInt8] {
        if isByteToken, let byte = byteValue(token) { return [byte] }
        return Array(token.replacingAll("\u{2581}", with: " ").utf8)
    }

    /// NN of a `<0xNN>` token.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"), u[5] == UInt8(ascii: ">")
        else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// Builds the model over `tokens`: single characters become start symbols, `<0x00>` …
    /// `<0xFF>` the byte fallback (when `byteFallback` and all are present).
    init(
        tokens: [String], ids: [Spelling: Int32], merges: [UInt64: UInt64], byteFallback: Bool, unknownId: Int?,
        prepend: Prepend, splitAtMetaspace: Bool, stripLeadingSpace: Bool
    ) {
        var characters: [UInt32: Int32] = [:]
        for (id, token) in tokens.enumerated() {
            var it = token.unicodeScalars.makeIterator()
            if let first = it.next(), it.next() == nil { characters[first.value] = Int32(id) }
        }
        self.characterIds = characters
        let fallback = (0..<256).map { ids[Array(Self.byteTokenName(UInt8($0)).utf8)] }
        self.byteFallbackIds = byteFallback && fallback.allSatisfy({ $0 != nil }) ? fallback.map { $0 ?? -1 } : nil
        self.merges = BPEModel(byteIds: [], merges: merges, wholePieces: nil)
        self.unknownId = unknownId.map { Int32($0) }
        self.prepend = prepend
        self.splitAtMetaspace = splitAtMetaspace
        self.stripLeadingSpace = stripLeadingSpace
    }

    /// `<0xNN>` with upper-case hex digits, as SentencePiece spells byte tokens.
    static func byteTokenName(_ byte: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "<0x" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)]) + ">"
    }

    /// The merges a vocabulary without a merge list implies (transformers' `generate_merges`):
    /// every split of a token into two tokens is a merge, ranked by the token's `score`
    /// (higher first), then by the longer left part, then the longer right part, then vocabulary
    /// order — the order transformers sorts them in.
    static func mergesFromVocabulary(tokens: [String], ids: [Spelling: Int32], score: (Int) -> Double) -> [UInt64: UInt64] {
        struct Candidate {
            let score: Double
            let leftLength: Int32
            let rightLength: Int32
            let left: Int32
            let right: Int32
            let merged: Int32
        }
        var candidates: [Candidate] = []
        candidates.reserveCapacity(tokens.count * 2)
        for (index, token) in tokens.enumerated() {
            let bytes = Array(token.utf8)
            guard ids[bytes] == Int32(index) else { continue }
            // Cuts at character boundaries (not before UTF-8 continuation bytes); lengths in characters.
            let cuts = (1..<max(bytes.count, 1)).filter { bytes[$0] & 0xC0 != 0x80 }
            guard !cuts.isEmpty else { continue }
            let characters = cuts.count + 1
            var local: [Candidate] = []
            for (k, cut) in cuts.enumerated() {
                guard let l = ids[Array(bytes[..<cut])], let r = ids[Array(bytes[cut...])] else { continue }
                local.append(
                    Candidate(
                        score: score(index), leftLength: Int32(k + 1), rightLength: Int32(characters - k - 1),
                        left: l, right: r, merged: Int32(index)))
            }
            local.sort { ($0.left, $0.right) < ($1.left, $1.right) }
            candidates += local
        }
        // Stable: equal keys keep the order above, as Python's sort does.
        let order = candidates.indices.sorted { a, b in
            let x = candidates[a], y = candidates[b]
            if x.score != y.score { return x.score > y.score }
            if x.leftLength != y.leftLength { return x.leftLength > y.leftLength }
            if x.rightLength != y.rightLength { return x.rightLength > y.rightLength }
            return a < b
        }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(order.count)
        for (rank, i) in order.enumerated() {
            let c = candidates[i]
            let key = UInt64(UInt32(c.left)) << 32 | UInt64(UInt32(c.right))
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(c.merged)) }
        }
        return merges
    }
}
