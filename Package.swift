// swift-tools-version: 6.0
// iap — Intent-Aware Personalization: RL training and LaMP-QA evaluation on libtorch.
//
// Layers (lower never imports upper): CTorch → Torch → Transformers → LaMPQA / IAP → iap;
// the *Core targets, FileIO, JSONFiles, ModelFormats and OpenAIWire build without libtorch.
// libtorch comes from `make setup` (scripts/setup-libtorch.sh), which points .deps/libtorch
// at a cache outside the repository; IAP_LIBTORCH overrides the location.
import Foundation
import PackageDescription

let libtorch: String = {
    if let given = Context.environment["IAP_LIBTORCH"], !given.isEmpty { return given }
    let link = Context.packageDirectory + "/.deps/libtorch"
    // Resolve the link so binaries keep working when the checkout moves.
    return (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) ?? link
}()
let torchLib = libtorch + "/torch/lib"
// Gloo's headers (scripts/setup-gloo.sh; Gloo's code is inside libtorch_cpu.so): with them the
// shim builds its process groups (Sources/CTorch/Distributed.cpp); without them every
// distributed call returns an error that says to run `make setup`.
let gloo: String? = {
    let link = Context.packageDirectory + "/.deps/gloo"
    let folder = (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) ?? link
    return FileManager.default.fileExists(atPath: folder + "/include/gloo/config.h") ? folder + "/include" : nil
}()
let glooFlags = gloo.map { ["-isystem", $0, "-DUSE_C10D_GLOO", "-DIAP_HAVE_GLOO"] } ?? []

let package = Package(
    name: "iap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "iap", targets: ["iap"]),
        .executable(name: "iap-bench", targets: ["iap-bench"]),
        .library(name: "Torch", targets: ["Torch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // Already in the graph through Hummingbird; named here because `iap serve` runs its
        // own service group (the generation queue stops before the HTTP server drains).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CTorch",
            cxxSettings: [
                .unsafeFlags(
                    [
                        "-isystem", libtorch + "/torch/include",
                        "-isystem", libtorch + "/torch/include/torch/csrc/api/include",
                        "-D_GLIBCXX_USE_CXX11_ABI=1", "-Wno-deprecated-declarations",
                    ] + glooFlags)
            ],
            linkerSettings: [
                .unsafeFlags([
                    "-L" + torchLib, "-Xlinker", "-rpath", "-Xlinker", torchLib,
                    "-Xlinker", "--no-as-needed",
                ]),
                .linkedLibrary("torch_cpu"),
                .linkedLibrary("c10"),
                .linkedLibrary("stdc++"),
                .linkedLibrary("dl"),
            ]
        ),
        // Files that appear whole or not at all, JSON-lines appends, folders (no Foundation:
        // the tensor layer and the GPU check program use it).
        .target(name: "FileIO"),
        // Codable documents and JSON-lines records on top of FileIO.
        .target(name: "JSONFiles", dependencies: ["FileIO"]),
        .target(name: "SafeTensors", dependencies: ["FileIO"]),
        .target(name: "Parquet", dependencies: ["FileIO"]),
        // The Hugging Face Hub: its shared cache (huggingface_hub's layout) and downloads.
        // Optimised in debug builds too: SHA-256 of multi-gigabyte weights files.
        .target(
            name: "Hub",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "ModelStore", dependencies: ["JSONFiles", "Hub"]),
        // Pure-Swift model files (GGUF, config.json, tokenizers, chat templates): no libtorch.
        // Optimised in debug builds too: tokenizers and GGUF dequantization are loops over
        // millions of elements (Gemma 3: a 262,144-token vocabulary, 515k implied merges), 5–10×
        // slower unoptimised, which the tests (built in debug) would pay on every model load.
        .target(
            name: "ModelFormats", dependencies: ["SafeTensors", "FileIO", "JSONFiles"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "Torch", dependencies: ["CTorch", "SafeTensors", "FileIO"]),
        // Language models on libtorch: Llama-family causal LM, BERT, generation, log-probs.
        .target(name: "Transformers", dependencies: ["Torch", "ModelFormats", "ModelStore", "Hub", "SafeTensors", "FileIO", "JSONFiles"]),
        // The OpenAI chat-completions wire types, shared by the judge client and `iap serve`.
        .target(name: "OpenAIWire"),
        // The benchmark without libtorch: data, judge prompt and parser, the judge client,
        // evaluation, scores files, statistics and tables.
        .target(
            name: "LaMPQACore",
            dependencies: [
                "ModelFormats", "FileIO", "JSONFiles", "SafeTensors", "OpenAIWire", "Hub", "Parquet",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // Judges that run models in process (embedding proxy, local LLM), profile ranking.
        .target(name: "LaMPQA", dependencies: ["LaMPQACore", "Transformers", "ModelFormats", "Torch"]),
        // The method without libtorch: configuration, rollout format, rewards, advantages,
        // ROUGE-L, run-folder files, reports.
        .target(
            name: "IAPCore",
            dependencies: [
                "LaMPQACore", "ModelFormats", "OpenAIWire", "FileIO", "JSONFiles", "SafeTensors", .product(name: "Yams", package: "Yams"),
            ]),
        // The method on models: rollouts, DAPO and SFT trainers, the run driver, checkpoints.
        .target(
            name: "IAP",
            dependencies: [
                "IAPCore", "LaMPQACore", "LaMPQA", "Transformers", "ModelFormats", "ModelStore", "FileIO", "JSONFiles", "SafeTensors",
                "Torch",
            ]),
        // `iap serve`: an OpenAI-compatible HTTP server over our models.
        .target(
            name: "Serving",
            dependencies: [
                "Transformers", "ModelFormats", "OpenAIWire", "JSONFiles", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // What both command-line programs share: messages, failures, opening models.
        .target(
            name: "CommandSupport",
            dependencies: [
                "Torch", "Transformers", "ModelFormats", "ModelStore", "Hub", "FileIO", "LaMPQACore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "iap",
            dependencies: [
                "CommandSupport", "Torch", "Transformers", "LaMPQACore", "LaMPQA", "IAPCore", "IAP", "Serving", "FileIO", "JSONFiles",
                "SafeTensors", "ModelStore", "Hub", "ModelFormats", "OpenAIWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The benchmarks (with their stand-in judge server): scripts/bench-*.sh and the GPU probe run it.
        .executableTarget(
            name: "iap-bench",
            dependencies: [
                "CommandSupport", "Torch", "Transformers", "LaMPQACore", "LaMPQA", "IAPCore", "IAP", "Serving", "JSONFiles", "ModelStore",
                "ModelFormats", "OpenAIWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // A Foundation-free program for GPU machines: `scripts/build-gpu-check.sh`.
        .executableTarget(name: "iap-gpu-check", dependencies: ["Torch"]),
        .testTarget(name: "FileIOTests", dependencies: ["FileIO", "JSONFiles"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "FileIO"]),
        .testTarget(name: "ParquetTests", dependencies: ["Parquet", "FileIO"]),
        // A Hugging Face Hub on loopback for the tests of the Hub client, `iap models pull`
        // and `iap data pull` (no network in CI).
        .target(
            name: "HubTestSupport", dependencies: ["Hub", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Tests/HubTestSupport"),
        .testTarget(
            name: "ModelStoreTests",
            dependencies: ["ModelStore", "Hub", "HubTestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "ModelStore", "FileIO", "JSONFiles"]),
        .testTarget(name: "TorchTests", dependencies: ["Torch"]),
        .testTarget(name: "TransformersTests", dependencies: ["Transformers", "ModelStore", "FileIO"]),
        // Pure tests: build and run without libtorch.
        .testTarget(name: "LaMPQACoreTests", dependencies: ["LaMPQACore", "ModelFormats", "FileIO", "JSONFiles", "Hub", "HubTestSupport"]),
        .testTarget(name: "IAPCoreTests", dependencies: ["IAPCore", "LaMPQACore", "ModelFormats", "FileIO", "JSONFiles", "OpenAIWire"]),
        .testTarget(name: "IAPTests", dependencies: ["IAP", "IAPCore", "LaMPQACore", "LaMPQA", "ModelStore", "FileIO", "JSONFiles"]),
        // Drives the built iap binary end to end (make test builds it first).
        .testTarget(name: "CLITests", dependencies: ["FileIO", "JSONFiles", "HubTestSupport", "CommandSupport"]),
        .testTarget(
            name: "LaMPQATests",
            dependencies: [
                "LaMPQA", "LaMPQACore", "Serving", "OpenAIWire", "ModelStore", "FileIO", "JSONFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
