import Foundation
import ModelFormats
import SafeTensors
import Testing
import Torch
import Transformers
import IAPCore
import FileIO

@testable import IAP

let modelFixtureFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/models")

/// The RL machinery learns: a tiny random model, one prompt, eight samples per step, and a
/// verifiable reward (the share of completion tokens with an id below 32, ~10 % at first).
/// Group-relative advantages + the clipped token-level loss + AdamW must raise the mean
/// reward within 30 steps.
@Suite(.timeLimit(.minutes(3))) struct LearningTests {
    @Test func meanRewardRises() throws {
        let model = try CausalLM.load(ModelFiles(path: modelFixtureFolder.appendingPathComponent("tiny-qwen2").path))
        for p in model.parameters { _ = try p.tensor.requiresGrad() }
        let optimizer = AdamW(parameters: model.parameters, learningRate: 3e-3, weightDecay: 0)
        let tokenizer = try Tokenizer.load(
            tokenizerJSON: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/tokenizer/tiny-gpt2.tokenizer.json").path)
        let prompt = [5, 17, 42, 99, 3]
        var loss = PolicyLoss()
        loss.klCoefficient = 0
        var rewards: [Double] = []
        for step in 0..<30 {
            var options = GenerationOptions()
            options.samplesPerPrompt = 8
            options.maxNewTokens = 8
            options.stopAtEOS = false
            options.seed = UInt64(step)
            let out = try withNoGrad { try model.generate(prompts: [prompt], tokenizer: tokenizer, options: options) }
            let r = out.map { s in Double(s.tokens.filter { $0 < 32 }.count) / Double(max(1, s.tokens.count)) }
            rewards.append(r.reduce(0, +) / Double(r.count))
            let advantages = GroupAdvantages.compute([r.map { Optional($0) }])[0]
            let ids = try Tensor(out.flatMap { (prompt + $0.tokens).map(Int64.init) }, shape: [8, prompt.count + 8])
            var mask = [Float](repeating: 0, count: 8 * (prompt.count + 7))
            for b in 0..<8 { for t in (prompt.count - 1)..<(prompt.count + 7) { mask[b * (prompt.count + 7) + t] = 1 } }
            let maskTensor = try Tensor(mask, shape: [8, prompt.count + 7])
            let (logp, _) = try model.sequenceLogProbs(ids: ids, valid: nil)
            let result = try loss(
                logProbs: logp, oldLogProbs: logp.detach(), referenceLogProbs: nil, advantages: Tensor(advantages.map(Float.init)),
                mask: maskTensor, globalTokens: 64, globalSequences: 8, maxLength: 8)
            try optimizer.zeroGrad()
            try result.loss.backward()
            _ = try clipGradientNorm(model.parameters.map(\.tensor), maxNorm: 1)
            try optimizer.step()
        }
        let first = rewards.prefix(5).reduce(0, +) / 5
        let last = rewards.suffix(5).reduce(0, +) / 5
        #expect(last > first + 0.2, "mean reward \(first) → \(last): \(rewards)")
    }
}
