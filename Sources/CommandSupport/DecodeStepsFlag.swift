import ArgumentParser
import ModelFormats

/// `--decode-steps eager|static|cuda-graphs` (the config's `cuda_graphs` is accepted too):
/// the command line's spelling of `DecodeSteps`.
extension DecodeSteps: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_"))
    }

    /// As the flag writes it.
    public var flagSpelling: String { rawValue.replacingOccurrences(of: "_", with: "-") }

    public static var allValueStrings: [String] { allCases.map(\.flagSpelling) }
    public var defaultValueDescription: String { flagSpelling }

    /// The flag's check for `--device`: cuda-graphs needs a CUDA device.
    public func validate(device: String) throws {
        guard runs(onDevice: device) else { throw ValidationError("--decode-steps \(flagSpelling) needs --device cuda (got \(device))") }
    }
}
