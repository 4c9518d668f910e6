import ArgumentParser
import LaMPQACore

/// `--split train|validation|test`.
extension LaMPQASplit: ExpressibleByArgument {}

/// `--input question|narrative|profile:K|narrative+profile:K` (`PolicyInputMode(name:)`).
extension PolicyInputMode: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public var defaultValueDescription: String { name }
    public static var allValueStrings: [String] { ["question", "narrative", "profile:K", "narrative+profile:K"] }
}

/// `--judge embedding|local|openai`.
extension JudgeBackend: ExpressibleByArgument {}
