import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// The shared-prefix forward (one prompt, several continuations) gives the same log-probs
/// and the same gradients as the plain forward of the concatenated sequences, with and
/// without gradient checkpointing, on models with grouped-query attention and biases.
@Suite struct SharedPrefixTests {
    @Test(arguments: [
        ("tiny-qwen2", false), ("tiny-llama3", false), ("tiny-llama3", true), ("tiny-gemma3", true), ("tiny-mistral", false),
        ("tiny-qwen3", true),
    ])
    func matchesThePlainForward(name: String, checkpointing: Bool) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let pass = TrainingPass(gradientCheckpointing: checkpointing)
        for p in model.parameters { _ = try p.tensor.requiresGrad() }
        let p = 13, c = 7
        let prefix = (0..<p).map { Int64(($0 * 31 + 5) % 300) }
        let lengths = [7, 4, 6]
        let continuations = lengths.enumerated().map { (g, n) in (0..<c).map { $0 < n ? Int64(($0 * 17 + g * 53 + 3) % 300) : 0 } }
        let validRows = lengths.map { n in (0..<c).map { $0 < n } }
        let weights = try Tensor((0..<(3 * c)).map { Float(($0 % 5) + 1) / 5 }, shape: [3, c])
        let validTensor = try Tensor(validRows.flatMap { $0 }, shape: [3, c])
        let mask = try validTensor.to(.float32) * weights

        // Plain: the concatenated, right-padded sequences; continuation token t is scored at t + P − 1.
        let ids = try Tensor(continuations.flatMap { prefix + $0 }, shape: [3, p + c])
        let valid = try Tensor(validRows.flatMap { [Bool](repeating: true, count: p) + $0 }, shape: [3, p + c])
        let (plainAll, plainEntropyAll) = try model.sequenceLogProbs(
            ids: ids, valid: valid, temperature: 0.8, chunk: 4, entropy: true, pass: pass)
        let plain = try plainAll.narrow(dim: 1, start: p - 1, length: c)
        try (plain * mask).sum().backward()
        let plainGrads = try model.parameters.map { try #require($0.tensor.grad).clone() }
        for param in model.parameters { try param.tensor.zeroGrad() }

        let (shared, sharedEntropy) = try model.continuationLogProbs(
            prefix: try Tensor(prefix, shape: [p]), continuations: try Tensor(continuations.flatMap { $0 }, shape: [3, c]),
            valid: validTensor,
            temperature: 0.8, chunk: 4, entropy: true, pass: pass)
        try (shared * mask).sum().backward()
        let a = try plain.detach().toArray(Float.self), b = try shared.detach().toArray(Float.self)
        let e1 = try plainEntropyAll!.narrow(dim: 1, start: p - 1, length: c).toArray(Float.self),
            e2 = try sharedEntropy!.toArray(Float.self)
        let v = validRows.flatMap { $0 }
        var worst: Float = 0
        for i in a.indices where v[i] { worst = max(worst, Swift.abs(a[i] - b[i]), Swift.abs(e1[i] - e2[i])) }
        #expect(worst < 1e-4, "max |Δ| = \(worst)")
        var worstGrad = 0.0
        for (param, expected) in zip(model.parameters, plainGrads) {
            let got = try #require(param.tensor.grad)
            let scale = try expected.abs().amax().item() + 1e-6
            worstGrad = max(worstGrad, try (got - expected).abs().amax().item() / scale)
        }
        #expect(worstGrad < 1e-3, "max relative gradient difference \(worstGrad)")
    }
}
