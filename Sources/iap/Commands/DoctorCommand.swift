import ArgumentParser
import CommandSupport
import Foundation
import Hub
import ModelStore
import Torch

/// Reports whether this installation can do its work, and how to fix what is missing.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check libtorch, threads, devices and the cache; exit non-zero when something is missing.")

    @Flag(name: .long, help: "Also print libtorch's full build configuration.")
    var verbose = false

    @Option(
        name: .customLong("require"), parsing: .upToNextOption,
        help: "Catalog models the job at hand needs besides the embedded default's (e.g. gemma3-270m for the tests).")
    var required: [String] = []

    func validate() throws {
        for name in required where ModelCatalog.model(named: name) == nil {
            let known = ModelCatalog.models.map(\.name).joined(separator: ", ")
            throw ValidationError("--require: '\(name)' is not a catalog model (\(known)).")
        }
    }

    func run() throws {
        print("iap \(IAPVersion.string)")
        var problems = checkLibtorch()
        printCUDA()
        let cache = ModelStore.defaultCacheRoot
        problems += checkCache(cache)
        problems += checkModels(in: cache)
        printHub()
        if problems.isEmpty {
            print("ok")
        } else {
            for problem in problems { print("problem: \(problem)") }
            throw ExitCode(1)
        }
    }

    static let expectedLibtorch = "2.11.0"

    /// The loaded libtorch: its version (the pinned one?), CPU capability and threads.
    private func checkLibtorch() -> [String] {
        print("libtorch: \(Torch.version) at \(Torch.libraryPath)")
        let config = Torch.buildConfiguration
        if let capability = config.split(separator: "\n").first(where: { $0.contains("CPU capability") }) {
            print("  \(capability.drop(while: \.isWhitespace))")
        }
        if verbose { print(config) }
        print("threads: \(Torch.threads) intra-op (OMP_NUM_THREADS changes it)")
        guard Torch.version != Self.expectedLibtorch else { return [] }
        return ["libtorch is \(Torch.version), this build expects \(Self.expectedLibtorch): run 'make setup' and rebuild."]
    }

    /// Whether the CUDA backend loads, and the GPUs the driver sees.
    private func printCUDA() {
        if let why = CUDARuntime.load() {
            print("cuda: libtorch_cuda.so not found; CPU only")
            if verbose { print(why) }
        } else {
            print("cuda: backend loaded, \(Device.cudaDeviceCount) device(s), available: \(Device.cudaAvailable)")
        }
        printDriver()
    }

    /// The cache folder and the libtorch downloads in it (complete or interrupted).
    private func checkCache(_ cache: String) -> [String] {
        print("cache: \(cache)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        let libtorchEntries = names.filter { $0.hasPrefix("libtorch-") }.sorted()
        var problems: [String] = []
        if libtorchEntries.isEmpty && Torch.version != Self.expectedLibtorch {
            problems.append("no libtorch in the cache \(cache): run 'make setup'.")
        } else if libtorchEntries.isEmpty {
            // A GPU machine's own PyTorch (LD_LIBRARY_PATH) of the pinned version will do.
            print("  no libtorch in the cache; using the one loaded above (the pinned version)")
        }
        for entry in libtorchEntries {
            let complete = FileManager.default.fileExists(atPath: cache + "/" + entry + "/.iap-complete")
            print("  \(entry): \(complete ? "complete" : "INCOMPLETE (an interrupted download; 'make setup' replaces it)")")
        }
        return problems
    }

    /// The NVIDIA driver and each GPU with its memory, as nvidia-smi reports them (nothing
    /// when there is no driver).
    private func printDriver() {
        for gpu in MachineMemory.gpus() {
            print("  gpu \(gpu.index): \(gpu.name), \(gpu.memoryBytes >> 20) MiB, driver \(gpu.driver)")
        }
    }

    /// Where Hub ids resolve and download from; whether a token is set (never the token).
    private func printHub() {
        let hub = HubCache()
        let repositories = ((try? FileManager.default.contentsOfDirectory(atPath: hub.root)) ?? []).filter { $0.hasPrefix("models--") }
        print("hub cache: \(hub.root) (\(repositories.count) model repositories)")
        let token = HubClient.defaultToken == nil ? "no token" : "a token set"
        print("  endpoint \(HubClient.defaultEndpoint), \(token)" + (HubCache.isOffline ? ", offline (HF_HUB_OFFLINE)" : ""))
    }

    /// The embedded default's models and the `--require`d ones must be present; a missing
    /// optional model is a note (a fresh `make demo` cache holds only the default's).
    private func checkModels(in cache: String) -> [String] {
        let store = ModelStore(cacheRoot: cache)
        let needed = Set(required.map { $0.lowercased() })
        var problems: [String] = []
        for model in ModelCatalog.models {
            if store.isPresent(model) {
                print("model \(model.name): \(store.location(of: model).path)")
            } else if model.isEmbeddedDefault || needed.contains(model.name) {
                problems.append("model \(model.name) is not in the cache: run 'iap models pull \(model.name)'.")
            } else {
                print("model \(model.name): not in the cache (optional; 'iap models pull \(model.name)' when a config names it)")
            }
        }
        return problems
    }
}
