/// How generation runs its decoding steps: one value for the config (`policy.decode_steps`),
/// the command line (`--decode-steps`) and the engine (`GenerationOptions.decodeSteps`). It
/// lives here, below both the config (IAPCore) and the engine (Transformers), so that both
/// name the same type; each spelling decodes into it (`cuda_graphs` in a config,
/// `cuda-graphs` or `cuda_graphs` on the command line).
public enum DecodeSteps: String, Sendable, CaseIterable {
    /// Eager, attending over the cache's filled slots (shapes change every step).
    case eager
    /// The step CUDA graphs record — static shapes, the slot written given as a device tensor,
    /// attention over a bucket of slots masked by validity — run eagerly: what the graphs
    /// replay, checkable on any device.
    case `static`
    /// CUDA graphs of the static step, through iap's plugin (gpu/libiap_cuda_graphs.so:
    /// $IAP_CUDA_GRAPHS_PLUGIN, else beside the executable; `make gpu-bundle`).
    case cudaGraphs = "cuda_graphs"

    /// Whether these steps can run on `device` as a user names it (cpu, cuda[:N], auto): CUDA
    /// graphs need a CUDA device (`auto` may resolve to one; if it does not, making the
    /// first graph fails naming the device).
    public func runs(onDevice device: String) -> Bool {
        self != .cudaGraphs || device == "auto" || device.hasPrefix("cuda")
    }
}
