@_spi(_Unicode) import Swift

/// The character classes the split patterns of byte-level BPE tokenizers use:
/// `\p{L}` (letters), `\p{N}` (numbers), `\s` (the Unicode White_Space property, as
/// Oniguruma and Rust's regex define it) and everything else.
enum CharacterClass: UInt8 {
    case letter = 0
    case number = 1
    case whitespace = 2
    case other = 3

    /// ASCII is looked up in a table; the rest asks the scalar's Unicode properties.
    @inline(__always)
    static func of(_ value: UInt32) -> CharacterClass {
        if value < 128 { return asciiTable[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        return slow(scalar)
    }

    private static func slow(_ scalar: Unicode.Scalar) -> CharacterClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    private static let asciiTable: [CharacterClass] = (0..<128).map { value in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: .letter
        case 0x30...0x39: .number
        case 0x09...0x0D, 0x20: .whitespace
        default: .other
        }
    }
}

/// Unicode normalisation through the standard library's own tables (the same entry
/// points swift-foundation uses), so this layer needs no Foundation or ICU.
enum UnicodeNormalization {
    static func nfc(_ text: Substring) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return String(text) }
        var out = String.UnicodeScalarView()
        for scalar in text._nfc { out.append(scalar) }
        return String(out)
    }

    /// Canonical decomposition, as a scalar sequence.
    static func nfd(_ text: Substring) -> [Unicode.Scalar] {
        Array(text._nfd)
    }
}
