import ArgumentParser
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// `--decode-steps`: how generation runs its decoding steps (`DecodeSteps`).
public enum DecodeStepsFlag: String, CaseIterable, ExpressibleByArgument, Sendable {
    case eager
    /// The static step CUDA graphs record, run eagerly (any device).
    case `static`
    /// CUDA graphs of the static step: a CUDA device and gpu/libiap_cuda_graphs.so
    /// (`make gpu-bundle`; $IAP_CUDA_GRAPHS_PLUGIN, else beside this executable).
    case cudaGraphs = "cuda-graphs"

    /// The setting for a model on `device`; cuda-graphs on another device fails, naming the flag.
    public func steps(device: Device) throws -> DecodeSteps {
        switch self {
        case .eager: return .eager
        case .static: return .staticShapes
        case .cudaGraphs:
            guard case .cuda = device else { throw ValidationError("--decode-steps cuda-graphs needs --device cuda (got \(device))") }
            return .cudaGraphs(plugin: CLI.gpuPlugin("libiap_cuda_graphs.so", variable: "IAP_CUDA_GRAPHS_PLUGIN"))
        }
    }
}

extension CLI {
    /// A library of the GPU bundle: $`variable` when set, else `file` beside this executable
    /// (gpu/ holds iap and its plugins together).
    public static func gpuPlugin(_ file: String, variable: String) -> String {
        if let path = environment[variable], !path.isEmpty { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, 4095)
        let executable = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        guard let slash = executable.lastIndex(of: "/") else { return file }
        return String(executable[...slash]) + file
    }
}
