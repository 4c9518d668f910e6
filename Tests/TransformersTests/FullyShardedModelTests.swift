import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// FSDP on a real (tiny Qwen2) decoder, two ranks as threads over Gloo: each rank's weights
/// are empty between uses; a checkpointed training pass on each rank's own batch, reduced
/// per block during the backward pass, then one sharded AdamW step gives the weights one
/// unsharded model reaches from the summed gradients; inside `withWholeModel` blocks stay
/// gathered and the logits are the unsharded model's.
@Suite struct FullyShardedModelTests {
    static let path = modelFixtures.appendingPathComponent("tiny-qwen2").path

    /// Rank r's micro-batch loss: its continuations' log-probs, summed.
    static func loss(_ model: CausalLM, rank: Int, pass: TrainingPass = TrainingPass()) throws -> Tensor {
        let prefix = try Tensor((0..<9).map { Int64(($0 * 29 + 7 * rank + 3) % 300) }, shape: [9])
        let continuations = try Tensor((0..<10).map { Int64(($0 * 13 + 41 * rank + 1) % 300) }, shape: [2, 5])
        return try model.continuationLogProbs(prefix: prefix, continuations: continuations, valid: nil, pass: pass).logProbs.sum()
    }

    static func flatWeights(_ model: CausalLM) throws -> [String: [Float]] {
        try model.parameters.reduce(into: [:]) { $0[$1.name] = try $1.tensor.toArray(Float.self) }
    }

    @Test(.enabled(if: ProcessGroup.glooAvailable)) func twoShardedRanksStepAsOneModel() throws {
        // The reference: one model, the two ranks' gradients summed, one AdamW step.
        let reference = try CausalLM.load(ModelFiles(path: Self.path))
        let probe = try Tensor((0..<6).map { Int64($0 * 37 % 300) }, shape: [1, 6])
        let logitsBefore = try withNoGrad {
            try reference.logits(try reference.hiddenStates(ids: probe, positions: try Tensor.arange(6).unsqueeze(0), valid: nil))
        }
        let expectedLogits = try logitsBefore.toArray(Float.self)
        for p in reference.parameters { _ = try p.tensor.requiresGrad() }
        for rank in 0..<2 { try Self.loss(reference, rank: rank).backward() }
        let adamW = AdamW(parameters: reference.parameters, learningRate: 1e-2)
        _ = try clipGradientNorm(reference.parameters.map(\.tensor), maxNorm: 1e6)
        try adamW.step()
        let expected = try Self.flatWeights(reference)

        let port = try Rendezvous.freeLocalPort()
        let results = try runLocalThreadRanks(2) {
            rank -> (weights: [String: [Float]], logits: [Float], emptyBetweenUses: Bool, stayedWhole: Bool) in
            let group = try ProcessGroup(
                gloo: Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: 2, localRank: rank), timeoutSeconds: 60,
                bindHost: "127.0.0.1")
            let model = try CausalLM.load(ModelFiles(path: Self.path))
            for p in model.parameters { _ = try p.tensor.requiresGrad() }
            let sharded = try FullyShardedModel(model: model, group: group, rule: AdamW(parameters: model.parameters, learningRate: 1e-2))
            var empty = model.parameters.allSatisfy { $0.tensor.count == 0 }
            // Whole-model inference: every block stays gathered while it runs.
            let (logits, stayedWhole) = try sharded.withWholeModel { () throws -> ([Float], Bool) in
                let whole = sharded.optimizer.residentElements
                let logits = try withNoGrad {
                    try model.logits(try model.hiddenStates(ids: probe, positions: try Tensor.arange(6).unsqueeze(0), valid: nil))
                }
                return (try logits.toArray(Float.self), sharded.optimizer.residentElements == whole)
            }
            empty = empty && model.parameters.allSatisfy { $0.tensor.count == 0 }
            try sharded.prepareUpdate()
            try Self.loss(model, rank: rank, pass: TrainingPass(gradientCheckpointing: true)).backward()
            try sharded.optimizer.reduceGradients()
            _ = try sharded.optimizer.clipGradientNorm(maxNorm: 1e6)
            try sharded.optimizer.step()
            empty = empty && model.parameters.allSatisfy { $0.tensor.count == 0 }
            let weights = try sharded.withWholeModel { try Self.flatWeights(model) }
            return (weights, logits, empty, stayedWhole)
        }.map { try $0.get() }
        for result in results {
            #expect(result.emptyBetweenUses && result.stayedWhole)
            #expect(zip(result.logits, expectedLogits).allSatisfy { abs($0 - $1) <= 1e-5 })
            var worst = 0 as Float
            for (name, values) in expected {
                let got = result.weights[name] ?? []
                #expect(got.count == values.count, "\(name)")
                for (a, b) in zip(got, values) { worst = max(worst, abs(a - b)) }
            }
            #expect(worst <= 1e-5, "largest weight difference \(worst)")
        }
    }
}
