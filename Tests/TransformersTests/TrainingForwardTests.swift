import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

@Suite struct TrainingForwardTests {
    /// Per-token log-probs at temperature 0.7 of a left-padded batch equal transformers'
    /// log_softmax(logits / 0.7) at the next tokens, wherever both tokens are real.
    @Test(arguments: ["tiny-qwen2", "tiny-llama3", "tiny-gemma3", "tiny-mistral", "tiny-qwen3"])
    func logProbsMatchTransformers(name: String) throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
        let expected = try fixtureTensors("\(name)-logits.safetensors")
        let ids = try #require(expected["input_ids"])
        let mask = try #require(expected["attention_mask"])
        let (logProbs, entropy) = try model.sequenceLogProbs(ids: ids, valid: mask.eq(1), temperature: 0.7, chunk: 5, entropy: true)
        let got = try floats(logProbs)
        let want = try floats(#require(expected["logprobs_t0.7"]))
        let m = try ints(mask)
        let time = ids.shape[1]
        var worst: Float = 0
        for b in 0..<2 {
            for t in 0..<(time - 1) where m[b * time + t] == 1 && m[b * time + t + 1] == 1 {
                worst = max(worst, Swift.abs(got[b * (time - 1) + t] - want[b * (time - 1) + t]))
            }
        }
        #expect(worst <= 1e-4, "max |Δ log p| = \(worst)")
        #expect(try floats(#require(entropy)).allSatisfy { $0 >= 0 && $0 <= log(Float(model.config.vocabSize)) + 1e-3 })
    }

    /// AdamW on one short sequence: the mean negative log-likelihood falls by 10× within
    /// 40 steps (the forward, the fused log-prob backward and the optimizer work together).
    @Test func overfitsOneSequence() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-qwen2").path))
        let parameters = model.parameters
        for p in parameters { _ = try p.tensor.requiresGrad() }
        let optimizer = AdamW(parameters: parameters, learningRate: 1e-2, weightDecay: 0)
        let ids = try Tensor((0..<16).map { Int64(($0 * 37 + 11) % 300) }, shape: [1, 16])
        var losses: [Double] = []
        for _ in 0..<40 {
            let (logProbs, _) = try model.sequenceLogProbs(ids: ids, valid: nil)
            let loss = try logProbs.mean().neg()
            try optimizer.zeroGrad()
            try loss.backward()
            try optimizer.step()
            losses.append(try loss.item())
        }
        #expect(losses.last! * 10 < losses.first!, "losses \(losses.first!) → \(losses.last!)")
    }
}

@Suite struct PackedInferenceTests {
    /// Inference uses packed copies of the weights; an in-place change of the weights (an
    /// optimizer step) must be seen by the next inference pass without being announced.
    @Test func packedWeightsFollowInPlaceUpdates() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path))
        let ids = try Tensor((0..<10).map { Int64($0 * 7 % 300) }, shape: [1, 10])
        let positions = try Tensor.arange(10).unsqueeze(0)
        func logits(_ model: CausalLM = model) throws -> [Float] {
            try floats(withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil)) })
        }
        let before = try logits()
        try withNoGrad { for p in model.parameters where p.name.contains("mlp.up_proj.weight") { try p.tensor.mul_(1.5) } }
        let packedAfter = try logits()
        let plainAfter = try logits(model.withPackedInference(false))
        #expect(model.usesPackedInference, "a view without packing leaves the model as it was")
        #expect(maxDifference(before, plainAfter) > 1e-3, "the update changed the model")
        #expect(maxDifference(packedAfter, plainAfter) < 1e-4, "packed inference saw the update")
    }
}

@Suite struct GradientCheckpointingTests {
    /// Recomputing blocks in the backward pass gives the same loss and gradients (Gemma 3:
    /// with its window of 4 inside the 12 tokens).
    @Test(arguments: ["tiny-llama3", "tiny-gemma3"])
    func sameGradientsWithAndWithoutCheckpointing(name: String) throws {
        func gradients(checkpointing: Bool) throws -> (Double, [String: [Float]]) {
            let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent(name).path))
            for p in model.parameters { _ = try p.tensor.requiresGrad() }
            let ids = try Tensor((0..<24).map { Int64($0 * 13 % 300) }, shape: [2, 12])
            let valid = try Tensor((0..<24).map { $0 % 12 >= ($0 < 12 ? 3 : 0) }, shape: [2, 12])
            let (logProbs, _) = try model.sequenceLogProbs(
                ids: ids, valid: valid, temperature: 0.9, pass: TrainingPass(gradientCheckpointing: checkpointing))
            let loss = try logProbs.mean().neg()
            try loss.backward()
            var grads: [String: [Float]] = [:]
            for p in model.parameters { grads[p.name] = try floats(#require(p.tensor.grad)) }
            return (try loss.item(), grads)
        }
        let plain = try gradients(checkpointing: false)
        let recomputed = try gradients(checkpointing: true)
        #expect(Swift.abs(plain.0 - recomputed.0) < 1e-6)
        #expect(plain.1.count == recomputed.1.count)
        for (name, g) in plain.1 {
            #expect(maxDifference(g, recomputed.1[name] ?? []) < 1e-5, "\(name)")
        }
    }

    @Test func errorsInsideACheckpointedBlockSurface() throws {
        let x = try Tensor.ones([2, 3]).requiresGrad()
        var calls = 0
        let y = try checkpointed(x) { (t) throws(TorchError) -> Tensor in
            calls += 1
            if calls == 2 { throw TorchError(operation: "block", message: "failed on recompute") }
            return try t * 2.0
        }
        #expect(throws: TorchError.self) { try y.sum().backward() }
    }

    /// The hook after a checkpointed block's backward pass runs once, after the block's
    /// weights have their gradient; the block sees grad mode off, then on; a weight pointed
    /// at new data (`setData`) stays the same leaf and gets its gradient there.
    @Test func aCheckpointedBlockReportsItsBackwardPass() throws {
        let w = try Tensor([Float](arrayLiteral: 1, 2, 3), shape: [3]).requiresGrad()
        let x = try Tensor.ones([2, 3]).requiresGrad()
        var modes: [Bool] = []
        var gradientAtHook: [Float] = []
        let y = try checkpointed(
            x,
            afterBackward: { () throws(TorchError) in
                gradientAtHook = try w.grad?.toArray(Float.self) ?? []
            }
        ) { (t) throws(TorchError) -> Tensor in
            modes.append(isGradEnabled)
            return try t * w
        }
        #expect(gradientAtHook.isEmpty)
        try y.sum().backward()
        #expect(modes == [false, true])
        #expect(gradientAtHook == [2, 2, 2])
        let failing = try checkpointed(
            x,
            afterBackward: { () throws(TorchError) in
                throw TorchError(operation: "hook", message: "reduce failed")
            }
        ) { (t) throws(TorchError) -> Tensor in try t * 3.0 }
        #expect(throws: TorchError.self) { try failing.sum().backward() }

        try withNoGrad { () throws(TorchError) in try w.setData(try Tensor.zeros([0])) }
        #expect(w.shape == [0] && w.requiresGrad)
        try w.zeroGrad()
        try withNoGrad { () throws(TorchError) in
            try w.setData(try Tensor([Float](arrayLiteral: 4, 5, 6, 7), shape: [4]).narrow(dim: 0, start: 1, length: 3))
        }
        try (try Tensor.ones([3]) * w).sum().backward()
        #expect(try w.toArray(Float.self) == [5, 6, 7])
        #expect(try w.grad?.toArray(Float.self) == [1, 1, 1])
    }

    /// A kept block (no recompute) runs once with grad mode on; its hook runs after the
    /// block's whole backward pass, including a weight reached through a tensor made before
    /// the block (as autocast's cached casts are), and the gradients are the plain ones.
    @Test func aKeptBlockReportsItsBackwardPassAfterEveryWeightGradient() throws {
        let w = try Tensor([Float](arrayLiteral: 1, 2, 3), shape: [3]).requiresGrad()
        let x = try Tensor.ones([2, 3]).requiresGrad()
        let cast = try w * 1.0  // made before the block: earlier in autograd's order
        var modes: [Bool] = []
        var gradientAtHook: [Float] = []
        let y = try keptBlock(
            x, afterBackward: { () throws(TorchError) in gradientAtHook = try w.grad?.toArray(Float.self) ?? [] }
        ) { (t) throws(TorchError) -> Tensor in
            modes.append(isGradEnabled)
            return try t * cast
        }
        try (y * 2.0).sum().backward()
        #expect(modes == [true])
        #expect(gradientAtHook == [4, 4, 4])
        #expect(try x.grad?.toArray(Float.self) == [2, 4, 6, 2, 4, 6])
    }

    /// A training pass with block hooks and no checkpointing (overlapped ddp sums): every
    /// block reports its backward pass, last block first, and the gradients are the plain ones.
    @Test func hookedPassesWithoutCheckpointingKeepTheGradients() throws {
        final class Recorder: BlockResidency, @unchecked Sendable {
            var finished: [Int] = []
            func willRun(block index: Int) throws(TorchError) {}
            func didRunWithoutGrad(block index: Int) throws(TorchError) {}
            func didBackward(block index: Int) throws(TorchError) { finished.append(index) }
        }
        func gradients(_ hooks: Recorder?) throws -> [String: [Float]] {
            let model = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path))
            for p in model.parameters { _ = try p.tensor.requiresGrad() }
            let ids = try Tensor((0..<24).map { Int64($0 * 13 % 300) }, shape: [2, 12])
            let valid = try Tensor([Bool](repeating: true, count: 24), shape: [2, 12])
            let (logProbs, _) = try model.sequenceLogProbs(ids: ids, valid: valid, pass: TrainingPass(blockHooks: hooks))
            try logProbs.mean().neg().backward()
            var grads: [String: [Float]] = [:]
            for p in model.parameters { grads[p.name] = try floats(#require(p.tensor.grad)) }
            return grads
        }
        let recorder = Recorder()
        let (plain, hooked) = (try gradients(nil), try gradients(recorder))
        #expect(recorder.finished == Array((0..<recorder.finished.count).reversed()) && !recorder.finished.isEmpty)
        for (name, g) in plain { #expect(maxDifference(g, hooked[name] ?? []) == 0, "\(name)") }
    }
}
