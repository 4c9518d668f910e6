// swift-tools-version: 6.0
// iap — Intent-Aware Personalization: RL training and LaMP-QA evaluation on libtorch.
//
// Layers (lower never imports upper): CTorch → Torch → Transformers → LaMPQA / IAP → iap.
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

let package = Package(
    name: "iap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "iap", targets: ["iap"]),
        .library(name: "Torch", targets: ["Torch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(
            name: "CTorch",
            cxxSettings: [
                .unsafeFlags([
                    "-isystem", libtorch + "/torch/include",
                    "-isystem", libtorch + "/torch/include/torch/csrc/api/include",
                    "-D_GLIBCXX_USE_CXX11_ABI=1", "-Wno-deprecated-declarations",
                ])
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
        .target(name: "SafeTensors"),
        .target(name: "ModelStore"),
        // Pure-Swift model file formats (GGUF; later config.json, tokenizers): testable without libtorch.
        .target(name: "ModelFormats", dependencies: ["SafeTensors"]),
        .target(name: "Torch", dependencies: ["CTorch", "SafeTensors"]),
        // Language models on libtorch: Llama-family causal LM, BERT, generation, log-probs.
        .target(name: "Transformers", dependencies: ["Torch", "ModelFormats", "SafeTensors"]),
        // The benchmark layer: LaMP-QA data, the rubric judge and its backends, evaluation.
        .target(
            name: "LaMPQA",
            dependencies: [
                "Transformers", "ModelFormats", "SafeTensors", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // The method: IAP rollouts, rewards (rubric, contrast, length), DAPO.
        .target(
            name: "IAP",
            dependencies: ["LaMPQA", "Transformers", "ModelFormats", "SafeTensors", "Torch", .product(name: "Yams", package: "Yams")]),
        // `iap serve`: an OpenAI-compatible HTTP server over our models.
        .target(
            name: "Serving",
            dependencies: [
                "Transformers", "ModelFormats", "SafeTensors", "IAP", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "iap",
            dependencies: [
                "Torch", "Transformers", "LaMPQA", "IAP", "Serving", "SafeTensors", "ModelStore", "ModelFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // A Foundation-free program for GPU machines: `scripts/build-gpu-check.sh`.
        .executableTarget(name: "iap-gpu-check", dependencies: ["Torch"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore"]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "ModelStore"]),
        .testTarget(name: "TorchTests", dependencies: ["Torch"]),
        .testTarget(name: "TransformersTests", dependencies: ["Transformers", "ModelStore"]),
        .testTarget(name: "IAPTests", dependencies: ["IAP", "ModelStore"]),
        // Drives the built iap binary end to end (make test builds it first).
        .testTarget(name: "CLITests", dependencies: ["SafeTensors"]),
        .testTarget(
            name: "LaMPQATests",
            dependencies: ["LaMPQA", "Serving", "ModelStore", .product(name: "Hummingbird", package: "hummingbird")]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
