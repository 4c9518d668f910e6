import CTorch

/// Process-wide facts and settings of the tensor engine.
public enum Torch {
    /// The libtorch version this binary was built against ("2.11.0").
    public static var version: String { String(cString: ct_version()) }

    /// Where the loaded libtorch_cpu.so lives.
    public static var libraryPath: String { String(cString: ct_library_path()) }

    /// libtorch's build configuration (compiler, BLAS, CPU capability, CUDA).
    public static var buildConfiguration: String {
        CUDARuntime.load()  // asks for the CUDA hooks, which are looked up once per process
        guard let text = ct_build_config() else { return "unavailable: \(String(cString: ct_last_error()))" }
        defer { ct_free_string(text) }
        return String(cString: text)
    }

    /// Intra-op threads used by CPU kernels.
    public static var threads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(Swift.max(1, newValue))) }
    }

    /// Inter-op threads; can only be set once, before any parallel work starts.
    public static func setInteropThreads(_ n: Int) { ct_set_num_interop_threads(Int32(Swift.max(1, n))) }

    /// Keeps freed large CPU buffers in the process for reuse (glibc otherwise unmaps them
    /// and the next allocation of the same size faults in fresh zeroed pages). Worth it for
    /// generation and training loops; costs resident memory that is not given back.
    public static func keepFreedMemory() { ct_keep_freed_memory() }

    /// Asks the kernel to send `signal` to this process when its parent dies (Linux
    /// `PR_SET_PDEATHSIG`); false when it refused.
    public static func setParentDeathSignal(_ signal: Int32) -> Bool { ct_set_parent_death_signal(signal) == 0 }

    /// Stops libtorch printing its own warnings, errors and C++ stack frames (a rank that
    /// cannot join its job logged ~50 lines of frames before our one-line error); commands
    /// call it unless `--verbose`.
    public static func quietCppDiagnostics() { ct_quiet_cpp_diagnostics() }

    /// Seeds the global generators of every device (loading the CUDA backend first where there
    /// is one: seeding looks libtorch's CUDA hooks up, once per process).
    public static func manualSeed(_ seed: UInt64) {
        CUDARuntime.load()
        ct_manual_seed(seed)
    }

    /// PyTorch's deterministic algorithms (`torch.use_deterministic_algorithms`), cuDNN's
    /// deterministic mode and cuBLAS's fixed workspace: on a GPU, the same run repeats
    /// exactly (and a resumed one continues exactly), at some cost in speed; an operation
    /// with no deterministic implementation then fails, naming itself. The CPU kernels we use
    /// are deterministic either way. Set before the first CUDA matmul.
    public static func setDeterministic(_ on: Bool) throws(TorchError) {
        CUDARuntime.load()
        guard ct_set_deterministic(on) else { throw TorchError.last("deterministic algorithms") }
    }

    public static var isDeterministic: Bool { ct_get_deterministic() }

    /// Number of tensor handles alive in this process (for leak checks).
    public static var liveTensors: Int { Int(ct_live_tensors()) }
}
