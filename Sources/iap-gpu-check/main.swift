// Runs on a GPU machine: loads libtorch_cuda at run time, does a matmul + backward on the
// GPU and on the CPU, and compares them. Built without Foundation so that the static
// binary stays small (scripts/build-gpu-check.sh).
import Torch

#if canImport(Glibc)
    import Glibc
#endif

func run() throws -> Bool {
    print("libtorch \(Torch.version)")
    if let why = CUDARuntime.load() { print("CUDA backend: not loaded: \(why)") }
    print("cuda available: \(Device.cudaAvailable), devices: \(Device.cudaDeviceCount)")
    guard Device.cudaAvailable else { return false }

    let generator = try Generator(seed: 7)
    let a = try Tensor.randn([512, 256], dtype: .float32, generator: generator)
    let b = try Tensor.randn([256, 384], dtype: .float32, generator: generator)

    func forwardBackward(_ device: Device) throws -> (product: [Float], gradA: [Float]) {
        // Fresh leaves on each device (a copy of a tensor that requires grad is not a leaf).
        let x = try a.to(device).detach().requiresGrad()
        let y = try b.to(device).detach().requiresGrad()
        let product = try x.matmul(y)
        try (product.tanh().sum()).backward()
        try device.synchronize()
        guard let grad = x.grad else { throw TorchError(operation: "gpu-check", message: "no gradient on \(device)") }
        return (try product.toArray(), try grad.toArray())
    }

    let cpu = try forwardBackward(.cpu)
    let gpu = try forwardBackward(.cuda(0))
    let productError = zip(cpu.product, gpu.product).map { abs($0 - $1) }.max() ?? .infinity
    let gradError = zip(cpu.gradA, gpu.gradA).map { abs($0 - $1) }.max() ?? .infinity
    print("max |cpu - cuda| matmul: \(productError), grad: \(gradError)")

    // TF32 may be on for CUDA matmuls; 1e-2 absolute on values of magnitude ~16 allows it.
    let ok = productError < 1e-2 && gradError < 1e-2
    print(ok ? "GPU CHECK PASSED" : "GPU CHECK FAILED")
    return ok
}

do {
    if !(try run()) { exit(1) }
} catch {
    print("GPU CHECK FAILED: \(error)")
    exit(1)
}
