import ArgumentParser
import ModelFormats
import Torch

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

extension DecodeSteps {
    /// The check once `--device` is resolved (`auto` may turn out to be the CPU).
    public func check(resolved device: Device, asked: DeviceChoice) throws(ExitCode) {
        guard runs(onDevice: device.description) else {
            throw CLI.failure("--decode-steps \(flagSpelling) needs --device cuda (got \(asked), which is \(device) here)")
        }
    }
}
