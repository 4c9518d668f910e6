import ModelFormats
import Torch

/// A model that cannot be built from its files: which file or tensor, and why.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }

    static func torch(_ source: String, _ error: TorchError) -> ModelLoadError {
        ModelLoadError(source: source, reason: error.description)
    }
}
