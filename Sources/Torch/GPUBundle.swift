#if canImport(Glibc)
    import Glibc
#endif

/// Where the GPU bundle's libraries are (`make gpu-bundle` puts iap and its plugins together
/// in gpu/): $`variable` when set, else `file` beside this executable.
public enum GPUBundle {
    public static func library(_ file: String, variable: String) -> String {
        if let value = getenv(variable), value.pointee != 0 { return String(cString: value) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, 4095)
        let executable =
            count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        guard let slash = executable.lastIndex(of: "/") else { return file }
        return String(executable[...slash]) + file
    }

    /// The CUDA graphs plugin (`DecodeSteps.cudaGraphs`).
    public static var cudaGraphsPlugin: String { library("libiap_cuda_graphs.so", variable: "IAP_CUDA_GRAPHS_PLUGIN") }
}
