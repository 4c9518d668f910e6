/// A tokenizer that cannot be loaded or used, with the file (or source) and what is wrong.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }
}
