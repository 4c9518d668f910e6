/// A SentencePiece normaliser's precompiled character map (`precompiled_charsmap` in a
/// `.model` file's NormalizerSpec; the `Precompiled` normaliser of a tokenizer.json): rules
/// such as nmt_nfkc compiled into a double-array trie (darts-clone) over UTF-8 bytes whose
/// values are offsets of NUL-terminated replacements. Layout:
///
///     u32 little-endian trie size in bytes | trie units (u32 LE each) | replacement strings
///
/// Normalising replaces, at each position, the longest byte sequence the trie holds by its
/// replacement, and copies one character where nothing matches (an invalid UTF-8 byte becomes
/// U+FFFD), as sentencepiece's `Normalizer::NormalizePrefix` does.
public struct PrecompiledCharsmap: Sendable, Equatable {
    let units: [UInt32]
    let replacements: [UInt8]

    /// Why a blob is not a character map, for the caller to put in its error.
    public struct Malformed: Error, Equatable {
        public let reason: String
    }

    public init(_ blob: [UInt8]) throws(Malformed) {
        guard blob.count >= 4 else { throw Malformed(reason: "\(blob.count) bytes: shorter than its 4-byte header") }
        let size = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard size % 4 == 0, size >= 4, size <= blob.count - 4 else {
            throw Malformed(reason: "trie of \(size) bytes in a map of \(blob.count)")
        }
        units = stride(from: 4, to: 4 + size, by: 4).map {
            UInt32(blob[$0]) | UInt32(blob[$0 + 1]) << 8 | UInt32(blob[$0 + 2]) << 16 | UInt32(blob[$0 + 3]) << 24
        }
        replacements = Array(blob[(4 + size)...])
    }

    /// Length in bytes and replacement offset of the longest key that prefixes `bytes[start...]`.
    func longestMatch(_ bytes: [UInt8], from start: Int) -> (length: Int, value: Int)? {
        func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
        var best: (length: Int, value: Int)?
        var node = offset(units[0])
        var i = start
        while i < bytes.count {
            node ^= Int(bytes[i])
            guard node < units.count else { break }
            let unit = units[node]
            guard unit & ((1 << 31) | 0xFF) == UInt32(bytes[i]) else { break }
            node ^= offset(unit)
            guard node < units.count else { break }
            if (unit >> 8) & 1 == 1 { best = (i - start + 1, Int(units[node] & ((1 << 31) - 1))) }
            i += 1
        }
        return best
    }

    /// `text` with every rule applied.
    public func normalize(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if let match = longestMatch(bytes, from: i), match.value < replacements.count {
                var k = match.value
                while k < replacements.count, replacements[k] != 0 {
                    out.append(replacements[k])
                    k += 1
                }
                i += match.length
                continue
            }
            let length = Self.characterLength(bytes, at: i)
            if length == 0 {
                out += [0xEF, 0xBF, 0xBD]
                i += 1
            } else {
                out += bytes[i..<(i + length)]
                i += length
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of the UTF-8 character at `i`, 0 when the bytes there are not one.
    static func characterLength(_ bytes: [UInt8], at i: Int) -> Int {
        let lead = bytes[i]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        guard length > 0, i + length <= bytes.count else { return 0 }
        return bytes[(i + 1)..<(i + length)].allSatisfy { $0 >> 6 == 0b10 } ? length : 0
    }
}
