/// A path or argument as a POSIX shell reads it back whole: printed commands ("continue with:
/// iap train --resume …") must work when pasted, whatever the folder's name holds (spaces,
/// quotes, `$`, globs).
public enum ShellQuoting {
    /// The text unchanged when it holds only characters no shell treats specially, else in
    /// single quotes (each `'` written as `'\''`).
    public static func quoted(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "/._-+:,=@%".unicodeScalars.contains(scalar))
            }
        guard !plain else { return text }
        return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
