import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// `CausalLM.random`: a model of a config's shape with random weights, no files — the same
/// tensors by name and shape as the family's loaded checkpoints, matrices drawn from
/// N(0, 0.02²), norms the identity, seeded, and a forward pass that is finite.
struct RandomModelTests {
    @Test(arguments: ["tiny-llama3", "tiny-qwen2", "tiny-mistral", "tiny-gemma3", "tiny-qwen3"])
    func aRandomModelHasTheLoadedOnesTensors(name: String) throws {
        let loaded = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let random = try CausalLM.random(config: loaded.config, dtype: .float32, device: .cpu, seed: 7)
        #expect(random.weights.keys.sorted() == loaded.weights.keys.sorted())
        for (key, tensor) in loaded.weights { #expect(random.weights[key]?.shape == tensor.shape, "\(key)") }
        let down = try #require(random.weights["model.layers.0.mlp.down_proj.weight"])
        let std = try down.toArray(Float.self).reduce(0) { $0 + Double($1 * $1) } / Double(down.count)
        #expect(abs(std.squareRoot() - 0.02) < 0.004)
        let norm = try #require(random.weights["model.norm.weight"]).toArray(Float.self)
        #expect(Set(norm) == [loaded.config.features.normOffset ? 0 : 1])
        let again = try CausalLM.random(config: loaded.config, dtype: .float32, device: .cpu, seed: 7)
        #expect(try again.weights["model.layers.0.mlp.down_proj.weight"]!.toArray(Float.self) == down.toArray(Float.self))
        try random.checkForward(source: name)
    }

    /// A shape by name, one block deep, in bfloat16 (Qwen2.5-0.5B: tied, q/k/v biases).
    @Test func aNamedShapeBuildsInBFloat16() throws {
        var config = try #require(try ModelShapes.config(named: "qwen2.5-0.5b"))
        config.layerCount = 1
        let model = try CausalLM.random(config: config, dtype: .bfloat16, device: .cpu)
        #expect(model.weights["model.embed_tokens.weight"]?.shape == [151_936, 896] && model.dtype == .bfloat16)
        #expect(model.weights["model.layers.0.self_attn.q_proj.bias"]?.shape == [896] && model.weights["lm_head.weight"] == nil)
        #expect(model.parameters.reduce(0) { $0 + $1.tensor.count } == config.parameterCount)
    }
}
