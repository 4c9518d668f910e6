import ArgumentParser
import CommandSupport
import Foundation
import ModelFormats
import Torch
import Transformers

extension BenchCommand {
    /// ZeRO-2's and FSDP's memory per rank: the model's AdamW in one process (the reference),
    /// then the same update sharded over N ranks (threads of this process, each its own Gloo
    /// group and model copy on 127.0.0.1): optimizer state kept per rank (FSDP's includes the
    /// float32 master shards, its only copy of the weights), weights in place between steps
    /// + state per rank, step time, and the largest weight difference from the reference.
    struct Zero2: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "zero2",
            abstract: "Weights + AdamW state per rank: one process vs ZeRO-2 and FSDP over 1, 2, 4 ranks (threads over Gloo).")

        @Option(help: "A model name or path.")
        var model = "smollm2-135m-instruct"

        @Option(help: "Rank counts, comma-separated.")
        var ranks = "1,2,4"

        @Option(help: "Optimizer steps.")
        var steps = 2

        @Option(help: "Gradient bucket size in MiB (as dist.bucket_mib).")
        var bucketMiB = 25

        func run() throws {
            Torch.threads = 1
            let files = try CLI.openModel(model)
            let counts = ranks.split(separator: ",").compactMap { Int($0) }.filter { $0 >= 1 }
            do {
                let reference = try CausalLM.load(files, dtype: .float32, device: .cpu)
                let adamW = AdamW(parameters: reference.parameters, learningRate: 1e-4)
                let start = ContinuousClock.now
                for step in 0..<steps {
                    let tensors = reference.parameters.map(\.tensor)
                    try setGradients(tensors, step: step, share: 1)
                    // The norm as PyTorch's clip_grad_norm_ takes it (float32, per tensor) vs float64.
                    let exact = try tensors.reduce(0.0) { try $0 + ($1.grad?.to(.float64).square().sum().item() ?? 0) }.squareRoot()
                    let norm = try clipGradientNorm(tensors, maxNorm: 1)
                    if step == 0 {
                        BenchResult.print(
                            BenchResult.NormPrecision(float32PerTensor: norm, float64: exact, relativeError: abs(norm - exact) / exact))
                    }
                    try adamW.step()
                }
                let perStep = seconds(ContinuousClock.now - start) / Double(steps)
                let parameterBytes = reference.parameters.reduce(0) { $0 + $1.tensor.count * 4 }
                BenchResult.print(
                    BenchResult.Zero2(
                        strategy: "adamw", ranks: 1, stateMiB: mib(adamW.stateBytes),
                        parametersAndStateMiB: mib(parameterBytes + adamW.stateBytes), stepS: rounded(perStep, 3), maxAbsDiff: 0))
                let expected = try reference.parameters.map { try $0.tensor.reshape([-1]) }
                for strategy in ["zero2", "fsdp"] {
                    for n in counts { try measure(strategy, ranks: n, files: files, expected: expected) }
                }
            } catch {
                throw CLI.failure("\(error)")
            }
        }

        /// Every rank's gradient at `step` is `share` times the same pseudo-random one, so
        /// the sum over N ranks with share 1/N is the reference's.
        func setGradients(_ parameters: [Tensor], step: Int, share: Double) throws {
            for (i, p) in parameters.enumerated() {
                let g = try Tensor.randn(p.shape, generator: Generator(seed: UInt64(step * 100_003 + i)))
                try p.setGrad(share == 1 ? g : g * share)
            }
        }

        /// One strategy on `n` rank threads: state kept per rank, weights in place between
        /// steps, step time, and the weights' largest difference from the reference.
        func measure(_ strategy: String, ranks n: Int, files: ModelFiles, expected: [Tensor]) throws {
            let port = try Rendezvous.freeLocalPort()
            let (steps, bucketMiB) = (self.steps, self.bucketMiB)
            let expectedBox = UncheckedBox(expected)
            let measured = try runLocalThreadRanks(n) { rank -> (state: Int, weights: Int, seconds: Double, diff: Double) in
                let group = try ProcessGroup(
                    gloo: Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: n, localRank: rank), timeoutSeconds: 600,
                    bindHost: "127.0.0.1")
                let policy = try CausalLM.load(files, dtype: .float32, device: .cpu)
                let rule = AdamW(parameters: policy.parameters, learningRate: 1e-4)
                let sharded = strategy == "fsdp" ? try FullyShardedModel(model: policy, group: group, rule: rule) : nil
                let optimizer =
                    try sharded?.optimizer
                    ?? ShardedAdamW(parameters: policy.parameters, group: group, rule: rule, bucketElements: bucketMiB << 18)
                let start = ContinuousClock.now
                for step in 0..<steps {
                    try optimizer.gatherAll()  // fsdp: the weights in place to take gradients (a no-op for zero2)
                    try setGradients(policy.parameters.map(\.tensor), step: step, share: 1 / Double(n))
                    try optimizer.reduceGradients()
                    _ = try optimizer.clipGradientNorm(maxNorm: 1)
                    try optimizer.step()
                }
                let perStep = seconds(ContinuousClock.now - start) / Double(steps)
                let weights =
                    optimizer.shardsParameters ? optimizer.residentElements * 4 : policy.parameters.reduce(0) { $0 + $1.tensor.count * 4 }
                try optimizer.gatherAll()
                var diff = 0.0
                for (p, e) in zip(policy.parameters, expectedBox.value) {
                    diff = max(diff, try (p.tensor.reshape([-1]) - e).abs().amax().item())
                }
                return (optimizer.stateBytes, weights, perStep, diff)
            }.map { try $0.get() }
            let state = measured.map(\.state).max() ?? 0
            let weights = measured.map(\.weights).max() ?? 0
            BenchResult.print(
                BenchResult.Zero2(
                    strategy: strategy, ranks: n, stateMiB: mib(state), parametersAndStateMiB: mib(weights + state),
                    stepS: rounded(measured.map(\.seconds).max() ?? 0, 3), maxAbsDiff: measured.map(\.diff).max() ?? 0))
        }

        func mib(_ bytes: Int) -> Double { rounded(Double(bytes) / 1_048_576, 1) }
    }
}

/// Hands tensors to the rank threads (each only reads them).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
