/// A device as a user names it (`--device`, `policy.device`): `auto` (a GPU when one can be
/// used, else the CPU), `cpu`, `cuda` or `cuda:N`.
public enum DeviceChoice: Sendable, Hashable, CustomStringConvertible {
    case auto
    case device(Device)

    /// Parses `auto`, `cpu`, `cuda` and `cuda:N`.
    public init?(_ text: String) {
        if text == "auto" {
            self = .auto
        } else if let device = Device(text) {
            self = .device(device)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .device(let device): device == .cuda ? "cuda" : device.description
        }
    }

    /// The device to run on, with the CUDA backend loaded when a GPU is asked for; the
    /// error's text says why a GPU cannot be used.
    public func resolved() throws(DeviceUnavailable) -> Device {
        switch self {
        case .auto: return Device.cudaAvailable ? .cuda : .cpu
        case .device(.cpu): return .cpu
        case .device(let device):
            if let problem = CUDARuntime.load() { throw DeviceUnavailable(problem) }
            guard Device.cudaAvailable else { throw DeviceUnavailable("no CUDA device is available") }
            return device
        }
    }
}

/// Why an asked-for GPU cannot be used (no CUDA backend, no device).
public struct DeviceUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
