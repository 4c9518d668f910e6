/// The three LaMP-QA configurations (domains), named as the benchmark's files are.
public enum LaMPQADomain: String, Sendable, CaseIterable, Comparable {
    case artAndEntertainment = "Art_and_Entertainment"
    case lifestyleAndPersonalDevelopment = "Lifestyle_and_Personal_Development"
    case societyAndCulture = "Society_and_Culture"

    /// Short name for tables and flags.
    public var shortName: String {
        switch self {
        case .artAndEntertainment: "art"
        case .lifestyleAndPersonalDevelopment: "lifestyle"
        case .societyAndCulture: "society"
        }
    }

    /// The first number of a record id (`0_2_17` is Art & Entertainment).
    public var index: Int { LaMPQADomain.allCases.firstIndex(of: self) ?? 0 }

    /// From the configuration name, the short name, or the index.
    public init?(name: String) {
        if let match = LaMPQADomain.allCases.first(where: {
            $0.rawValue.lowercased() == name.lowercased() || $0.shortName == name.lowercased() || String($0.index) == name
        }) {
            self = match
        } else {
            return nil
        }
    }

    public static func < (a: LaMPQADomain, b: LaMPQADomain) -> Bool { a.index < b.index }
}

/// Benchmark splits.
public enum LaMPQASplit: String, Sendable, CaseIterable {
    case train, validation, test
}

extension LaMPQASplit: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let split = LaMPQASplit(rawValue: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not one of train, validation, test"))
        }
        self = split
    }
}

/// Written by its short name (`art`); read from any name `init(name:)` accepts.
extension LaMPQADomain: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let domain = LaMPQADomain(name: text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath, debugDescription: "unknown domain '\(text)' (art, lifestyle, society or the full names)"
                ))
        }
        self = domain
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(shortName)
    }
}
