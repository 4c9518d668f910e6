import CTorch

/// A CUDA graph: libtorch calls recorded once and replayed as one launch, which removes the
/// per-kernel launch cost that bounds small decode steps (at::cuda::CUDAGraph, through iap's
/// plugin gpu/libiap_cuda_graphs.so, since this shim is built against the CPU libtorch).
///
/// What a replay reads and writes is fixed at capture: the same tensors (inputs are rewritten
/// in place before each replay), the same shapes, no host synchronisation inside. Tensors the
/// captured calls made live in the graph's private memory pool and are rewritten by every
/// replay.
public final class CUDAGraph {
    private let handle: ct_cuda_graph
    public let device: Device

    /// `plugin`: the path of libiap_cuda_graphs.so; `device` a CUDA device.
    public init(plugin: String, device: Device) throws(TorchError) {
        guard case .cuda = device else {
            throw TorchError(operation: "CUDAGraph", message: "CUDA graphs need a CUDA device (got \(device))")
        }
        guard let handle = ct_cuda_graph_new(plugin) else { throw TorchError.last("CUDAGraph") }
        self.handle = handle
        self.device = device
    }

    deinit { ct_cuda_graph_free(handle) }

    /// Captures `body`: runs it once eagerly on a side stream (the warm-up that lets libtorch
    /// make its lazy handles), then records it. Returns what the recorded call returned: its
    /// tensors are the graph's outputs, rewritten by every `replay()`. The warm-up run's
    /// writes happen; the recorded run's do not until the first replay.
    public func capture<Result>(_ body: () throws(TorchError) -> Result) throws(TorchError) -> Result {
        try checked("CUDAGraph.capture", ct_cuda_graph_enter_side_stream(handle, device.indexCode))
        do throws(TorchError) {
            _ = try body()
            try checked("CUDAGraph.capture", ct_cuda_graph_capture_begin(handle))
            let recorded: Result
            do throws(TorchError) { recorded = try body() } catch {
                _ = ct_cuda_graph_capture_end(handle)
                throw error
            }
            try checked("CUDAGraph.capture", ct_cuda_graph_capture_end(handle))
            try checked("CUDAGraph.capture", ct_cuda_graph_leave_side_stream(handle))
            return recorded
        } catch {
            _ = ct_cuda_graph_leave_side_stream(handle)
            throw error
        }
    }

    /// Runs the recorded calls again on the current stream.
    public func replay() throws(TorchError) { try checked("CUDAGraph.replay", ct_cuda_graph_replay(handle)) }
}
