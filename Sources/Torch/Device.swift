import CTorch

/// Where a tensor lives. `cuda(n)` needs libtorch_cuda.so, which is loaded at run time so
/// that one binary serves CPU-only and GPU machines.
public enum Device: Sendable, Hashable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// The first GPU.
    public static var cuda: Device { .cuda(0) }

    var typeCode: Int32 {
        switch self {
        case .cpu: 0
        case .cuda: 1
        }
    }

    var indexCode: Int32 {
        switch self {
        case .cpu: -1
        case .cuda(let index): Int32(index)
        }
    }

    init(typeCode: Int32, index: Int32) {
        self = typeCode == 1 ? .cuda(Int(max(index, 0))) : .cpu
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }

    /// Parses `cpu`, `cuda` and `cuda:N`.
    public init?(_ text: String) {
        if text == "cpu" {
            self = .cpu
        } else if text == "cuda" {
            self = .cuda(0)
        } else if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 {
            self = .cuda(index)
        } else {
            return nil
        }
    }

    /// Loads the CUDA backend (once) and reports whether a GPU can be used.
    public static var cudaAvailable: Bool {
        CUDARuntime.load() == nil && ct_cuda_is_available()
    }

    /// Number of visible GPUs (0 when the CUDA backend is absent).
    public static var cudaDeviceCount: Int {
        guard CUDARuntime.load() == nil else { return 0 }
        return Int(ct_cuda_device_count())
    }

    /// Waits for queued GPU work on this device; a no-op on the CPU.
    public func synchronize() throws(TorchError) {
        guard case .cuda(let index) = self else { return }
        try checked("synchronize", ct_cuda_synchronize(Int32(index)))
    }
}

/// The outcome of loading libtorch_cuda.so, computed once per process.
public enum CUDARuntime {
    private static let outcome: String? = {
        ct_cuda_load(nil) ? nil : String(cString: ct_last_error())
    }()

    /// nil when libtorch_cuda.so is loaded; otherwise why it could not be.
    @discardableResult
    public static func load() -> String? { outcome }
}
