import Torch

extension CausalLM {
    /// Per-token log-probabilities of each sequence's own next tokens, as the policy-gradient
    /// trainer needs them: `out[b, t] = log softmax(logits[b, t] / temperature)[ids[b, t + 1]]`
    /// for t in 0..<time−1, as [batch, time − 1] f32, differentiable in the weights.
    ///
    /// - `valid`: [batch, time] bool (false on padding; positions count real tokens only, so
    ///   left- and right-padded batches both work); nil when nothing is padding.
    /// - The LM head and log-softmax run `chunk` rows at a time (`Tensor.linearLogProbs`):
    ///   beyond `pass.keptLogitsBytes` the [batch, time, vocab] logits are not kept for the
    ///   backward pass but recomputed there.
    /// - `entropy`: also return the entropy of each position's distribution (no gradient).
    /// - `pass`: the trainer's gradient checkpointing, kept logits and block hooks.
    public func sequenceLogProbs(
        ids: Tensor, valid: Tensor?, temperature: Double = 1, chunk: Int = 128, entropy wantEntropy: Bool = false,
        pass: TrainingPass = TrainingPass()
    ) throws(TorchError) -> (logProbs: Tensor, entropy: Tensor?) {
        let batch = ids.shape[0]
        let time = ids.shape[1]
        guard time >= 2 else {
            throw TorchError(operation: "sequenceLogProbs", message: "sequences need at least 2 tokens, got \(time)")
        }
        let positions = try CausalLM.positions(valid: valid, batch: batch, time: time, device: device)
        let hidden = try hiddenStates(ids: ids, positions: positions, valid: valid, pass: pass)
        let inputs = try hidden.narrow(dim: 1, start: 0, length: time - 1).reshape([batch * (time - 1), config.hiddenSize])
        let targets = try ids.narrow(dim: 1, start: 1, length: time - 1).reshape([batch * (time - 1)])
        let entropy = wantEntropy ? try Tensor.zeros([batch * (time - 1)], dtype: .float32, device: device) : nil
        let logProbs = try inputs.linearLogProbs(
            weight: head, targets: targets, temperature: temperature, chunk: chunk, entropy: entropy, keptLogitsBytes: pass.keptLogitsBytes)
        return (try logProbs.view([batch, time - 1]), try entropy?.view([batch, time - 1]))
    }

    /// Rotary positions from a validity mask: the number of real tokens before each slot
    /// (so a sequence's first real token is at 0 whatever the padding), or 0..<time.
    public static func positions(valid: Tensor?, batch: Int, time: Int, device: Device) throws(TorchError) -> Tensor {
        guard let valid else { return try Tensor.arange(.int(time), device: device).unsqueeze(0).expand([batch, time]) }
        return try (valid.to(.int64).cumsum(dim: 1) - 1.0).clamp(min: 0).to(.int64)
    }
}
