/// The text transforms of a byte-level BPE tokenizer before the model: an optional NFC
/// normaliser, then a sequence of splitting steps (each refines the pieces of the one
/// before; a piece's edges count as the text's edges for the next step's pattern).
public enum PreTokenizerStep: Sendable, Equatable {
    /// `Split` with one of the known regexes (behaviour `Isolated`).
    case split(SplitPattern)
    /// `Digits`: every number scalar alone (`individual`), or runs of them.
    case digits(individual: Bool)
}

struct ByteLevelPipeline: Sendable {
    var nfc = false
    /// `ByteLevel(add_prefix_space: true)`: a space goes in front of text not starting with one.
    var addPrefixSpace = false
    var steps: [PreTokenizerStep] = []

    /// Calls `body` with the UTF-8 bytes of each piece of `text`, in order.
    func forEachPiece(_ text: Substring, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let normalized = nfc ? UnicodeNormalization.nfc(text) : String(text)
        var scalars: [UInt32] = []
        scalars.reserveCapacity(normalized.utf8.count + 1)
        if addPrefixSpace && normalized.unicodeScalars.first != " " { scalars.append(0x20) }
        for s in normalized.unicodeScalars { scalars.append(s.value) }
        let classes = scalars.map { CharacterClass.of($0).rawValue }
        var pieces: [Range<Int>] = [0..<scalars.count]
        var refined: [Range<Int>] = []
        scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                for step in steps {
                    refined.removeAll(keepingCapacity: true)
                    for piece in pieces where !piece.isEmpty {
                        switch step {
                        case .split(let pattern):
                            pattern.split(s, c, piece.lowerBound, piece.upperBound, into: &refined)
                        case .digits(let individual):
                            ByteLevelPipeline.splitDigits(c, piece, individual: individual, into: &refined)
                        }
                    }
                    swap(&pieces, &refined)
                }
                var bytes: [UInt8] = []
                bytes.reserveCapacity(64)
                for piece in pieces where !piece.isEmpty {
                    bytes.removeAll(keepingCapacity: true)
                    for k in piece { ByteLevelPipeline.appendUTF8(s[k], to: &bytes) }
                    bytes.withUnsafeBufferPointer { body($0) }
                }
            }
        }
    }

    private static func splitDigits(
        _ c: UnsafeBufferPointer<UInt8>, _ piece: Range<Int>, individual: Bool, into out: inout [Range<Int>]
    ) {
        let number = CharacterClass.number.rawValue
        var start = piece.lowerBound
        var k = piece.lowerBound
        while k < piece.upperBound {
            if c[k] == number {
                if k > start { out.append(start..<k) }
                var end = k + 1
                if !individual { while end < piece.upperBound && c[end] == number { end += 1 } }
                out.append(k..<end)
                k = end
                start = end
            } else {
                k += 1
            }
        }
        if start < piece.upperBound { out.append(start..<piece.upperBound) }
    }

    @inline(__always)
    static func appendUTF8(_ v: UInt32, to bytes: inout [UInt8]) {
        switch v {
        case 0..<0x80: bytes.append(UInt8(v))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
