/// GPT-2's byte-to-character map: every byte gets a printable character, so byte-level
/// vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the
/// other 68 bytes map, in order, to U+0100 onwards (space 0x20 becomes `Ġ`, U+0120).
enum ByteLevelAlphabet {
    /// `character[b]` is the scalar that spells byte `b`.
    static let character: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!  // 256..<324: always valid scalars
                next += 1
            }
        }
        return table
    }()

    /// The inverse map: scalar value → byte, for scalars below 324.
    static let byte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, scalar) in character.enumerated() { table[Int(scalar.value)] = Int16(b) }
        return table
    }()

    /// The bytes a vocabulary token spells, or nil when it uses a character outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard scalar.value < 324, byte[Int(scalar.value)] >= 0 else { return nil }
            out.append(UInt8(byte[Int(scalar.value)]))
        }
        return out
    }

    /// The alphabet spelling of raw bytes.
    static func spell(_ bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(character[Int(b)]) }
        return String(view)
    }
}
