/// Integer literals past 64 bits, read as floating-point numbers.
///
/// Python writes integers of any size: transformers' "no length limit" is
/// `"model_max_length": 1000000000000000019884624838656` (int(1e30)) in many tokenizer_config.json
/// files on the Hub. Foundation's decoder rejects such a literal as "not valid JSON" — the whole
/// file, whatever field holds it — so before decoding, each integer literal outside strings that
/// no `Int` holds gets a `.0` (the same number as a `Double`). A field typed `Double` then reads
/// it, one typed `Int` fails naming the field, and keys nobody reads are skipped as before.
enum LongIntegerLiterals {
    /// `bytes` with every over-long integer literal widened; the same array when none is
    /// (the common case costs one scan and no copy).
    static func widened(_ bytes: [UInt8]) -> [UInt8] {
        let literals = overlong(bytes)
        guard !literals.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 2 * literals.count)
        var copied = 0
        for end in literals {
            out += bytes[copied..<end]
            out += [UInt8(ascii: "."), UInt8(ascii: "0")]
            copied = end
        }
        out += bytes[copied...]
        return out
    }

    /// The end offsets of integer literals (outside strings) that do not fit in an `Int`.
    static func overlong(_ bytes: [UInt8]) -> [Int] {
        var ends: [Int] = []
        var i = 0
        var inString = false
        while i < bytes.count {
            let byte = bytes[i]
            if inString {
                if byte == UInt8(ascii: "\\") { i += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if byte == UInt8(ascii: "\"") {
                inString = true
                i += 1
            } else if byte == UInt8(ascii: "-") || isDigit(byte) {
                let start = i
                i += 1
                while i < bytes.count, isNumberByte(bytes[i]) { i += 1 }
                if isOverlongInteger(bytes[start..<i]) { ends.append(i) }
            } else {
                i += 1
            }
        }
        return ends
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    /// An integer literal (digits, an optional leading minus) that `Int` cannot hold. 19 digits
    /// or fewer always parse or fail cheaply; longer ones are checked exactly.
    private static func isOverlongInteger(_ literal: ArraySlice<UInt8>) -> Bool {
        let digits = literal.first == UInt8(ascii: "-") ? literal.dropFirst() : literal
        guard digits.count >= 19, digits.allSatisfy(isDigit) else { return false }
        return Int(String(decoding: literal, as: UTF8.self)) == nil
    }
}
