/// Reads one mapping of a configuration file: every key has a default (the value a fresh
/// section holds), keys the section does not know are errors.
///
///     let read = try SectionReader(decoder, CodingKeys.self)
///     steps = try read(.steps, steps)
struct SectionReader<Key: CodingKey & CaseIterable> {
    private let container: KeyedDecodingContainer<Key>

    init(_ decoder: any Decoder, _: Key.Type) throws {
        let raw = try decoder.container(keyedBy: AnyKey.self)
        let known = Key.allCases.map(\.stringValue)
        for key in raw.allKeys where !known.contains(key.stringValue) {
            throw UnknownConfigKey(path: decoder.codingPath.map(\.stringValue) + [key.stringValue], known: known)
        }
        container = try decoder.container(keyedBy: Key.self)
    }

    /// The key's value, or `fallback` when the key is absent. `null` is a value: it unsets
    /// optional keys and is a type error for the others.
    func callAsFunction<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
        guard container.contains(key) else { return fallback }
        return try container.decode(T.self, forKey: key)
    }
}

/// Any key, for listing what a mapping holds.
struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// A setting with a fixed set of spellings (`optim.schedule: constant|cosine`): decoding
/// any other text is an error listing the choices.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ConfigChoice {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw InvalidConfigChoice(path: decoder.codingPath.map(\.stringValue), value: text, allowed: Self.allCases.map(\.rawValue))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
