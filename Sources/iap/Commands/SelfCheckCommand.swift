import ArgumentParser
import FoundationEssentials
import Torch

/// A quick end-to-end exercise of the tensor engine: fits a small two-layer network with
/// AdamW, then saves and reloads its weights. What `make demo` runs until training lands.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Fit a tiny network with autograd + AdamW and round-trip its weights through safetensors.")

    @Option(help: "Optimisation steps.")
    var steps = 300

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    func validate() throws { try FlagCheck.atLeast("--steps", steps, 1) }

    func run() throws {
        let generator = try Generator(seed: seed)
        // Target: y = sin(3x) on [-1, 1]; model: 1 → 32 → 1 with tanh.
        let x = try Tensor.rand([256, 1], generator: generator) * 2.0 - 1.0
        let y = try (x * 3.0).sin()
        let w1 = try (Tensor.randn([32, 1], generator: generator) * 1.0).requiresGrad()
        let b1 = try Tensor.zeros([32]).requiresGrad()
        let w2 = try (Tensor.randn([1, 32], generator: generator) * 0.2).requiresGrad()
        let b2 = try Tensor.zeros([1]).requiresGrad()
        let optimizer = AdamW(
            parameters: [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)].map { AdamW.Parameter(name: $0.0, tensor: $0.1) },
            learningRate: 0.02, weightDecay: 0)

        func loss() throws -> Tensor {
            let prediction = try x.linear(w1, bias: b1).tanh().linear(w2, bias: b2)
            return try (prediction - y).square().mean()
        }

        let (first, last) = try fit(loss, optimizer: optimizer, parameters: [w1, b1, w2, b2])
        let same = try roundTrips(["w1": w1, "b1": b1, "w2": w2, "b2": b2])
        print("safetensors round trip: \(same ? "identical" : "DIFFERENT")")
        guard last < first / 10, same else {
            print("selfcheck FAILED")
            throw ExitCode(1)
        }
        print("selfcheck passed (libtorch \(Torch.version), \(Torch.threads) threads)")
    }

    /// `steps` AdamW steps on `loss` (gradients clipped at 1); the loss before and after.
    private func fit(_ loss: () throws -> Tensor, optimizer: AdamW, parameters: [Tensor]) throws -> (Double, Double) {
        let first = try loss().item()
        let clock = ContinuousClock()
        let start = clock.now
        for step in 1...steps {
            try optimizer.zeroGrad()
            let l = try loss()
            try l.backward()
            try clipGradientNorm(parameters, maxNorm: 1)
            try optimizer.step()
            if step % 100 == 0 { print("step \(step): mse \(try l.item())") }
        }
        let elapsed = clock.now - start
        let last = try withNoGrad { try loss().item() }
        print("mse \(first) → \(last) in \(steps) steps (\(elapsed))")
        return (first, last)
    }

    /// Whether `tensors` come back byte for byte from a safetensors file.
    private func roundTrips(_ tensors: [String: Tensor]) throws -> Bool {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "iap-selfcheck-\(ProcessInfo.processInfo.processIdentifier).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TensorFile.save(tensors, to: path)
        let reloaded = try TensorFile.load(from: path).tensors
        return try tensors.allSatisfy { name, tensor in try reloaded[name]?.bytes() == tensor.bytes() }
    }
}
