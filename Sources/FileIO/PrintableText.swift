/// Text safe to show on a terminal: messages echo file names, ids and file content, and a
/// control character in them (an escape sequence, a carriage return, a bell) could rewrite
/// what the user sees. Each one becomes a visible `\u{1B}`-style escape; line feeds and tabs stay.
public enum PrintableText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        (s.value < 0x20 && s != "\n" && s != "\t") || (0x7F...0x9F).contains(s.value)
    }
}
