import ArgumentParser
import FoundationEssentials
import Torch

/// Reports whether this installation can do its work, and how to fix what is missing.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check libtorch, threads, devices and the cache; exit non-zero when something is missing.")

    @Flag(name: .long, help: "Also print libtorch's full build configuration.")
    var verbose = false

    func run() throws {
        var problems: [String] = []
        print("iap \(IAPVersion.string)")

        let expected = "2.11.0"
        print("libtorch: \(Torch.version) at \(Torch.libraryPath)")
        if Torch.version != expected {
            problems.append("libtorch is \(Torch.version), this build expects \(expected): run 'make setup' and rebuild.")
        }
        let config = Torch.buildConfiguration
        if let capability = config.split(separator: "\n").first(where: { $0.contains("CPU capability") }) {
            print("  \(capability.drop(while: \.isWhitespace))")
        }
        if verbose { print(config) }
        print("threads: \(Torch.threads) intra-op (OMP_NUM_THREADS changes it)")

        if let why = CUDARuntime.load() {
            print("cuda: libtorch_cuda.so not found; CPU only")
            if verbose { print(why) }
        } else {
            print("cuda: backend loaded, \(Device.cudaDeviceCount) device(s), available: \(Device.cudaAvailable)")
        }

        let cache = CacheLocation.root
        print("cache: \(cache)")
        let libtorchEntries = CacheLocation.entries(prefix: "libtorch-")
        if libtorchEntries.isEmpty {
            problems.append("no libtorch in the cache \(cache): run 'make setup'.")
        }
        for entry in libtorchEntries {
            let complete = FileManager.default.fileExists(atPath: cache + "/" + entry + "/.iap-complete")
            print("  \(entry): \(complete ? "complete" : "INCOMPLETE (an interrupted download; 'make setup' replaces it)")")
        }

        if problems.isEmpty {
            print("ok")
        } else {
            for problem in problems { print("problem: \(problem)") }
            throw ExitCode(1)
        }
    }
}

/// The download cache shared by the set-up scripts and the CLI.
enum CacheLocation {
    static var root: String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["IAP_CACHE"], !explicit.isEmpty { return explicit }
        let base =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? "/tmp") + "/.cache"
        return base + "/iap"
    }

    static func entries(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }
}
