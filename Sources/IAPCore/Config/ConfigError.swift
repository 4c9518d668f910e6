/// A configuration that cannot be used: names the file (or `--set`), the key, and what is
/// wrong, with the closest known key when a key is unknown.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Thrown while decoding a section: a key the section does not have.
struct UnknownConfigKey: Error {
    /// Full path of the unknown key (`["rollout", "grup_size"]`).
    let path: [String]
    /// The keys the section has.
    let known: [String]
}

/// Thrown while decoding a value: the text is not one of the allowed choices.
struct InvalidConfigChoice: Error {
    let path: [String]
    let value: String
    let allowed: [String]
}
