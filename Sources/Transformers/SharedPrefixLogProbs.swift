import Torch

extension CausalLM {
    /// Log-probabilities of several continuations of one shared prefix (a group of rollouts
    /// of the same prompt), computing the prefix once instead of once per continuation:
    /// `out[g, t] = log softmax(logits / temperature)[continuations[g, t]]` given the prefix
    /// and continuation g's tokens before t, as [G, C] f32, differentiable in the weights.
    /// Equal to `sequenceLogProbs` on the concatenated sequences (restricted to continuation
    /// tokens); for a prompt of P tokens and G continuations of C the blocks see P + G·C
    /// tokens instead of G·(P + C).
    ///
    /// - `prefix`: [P] int64, P ≥ 1.
    /// - `continuations`: [G, C] int64, right-padded; `valid` [G, C] bool (nil: no padding).
    ///   Padded positions get meaningless values; mask them.
    /// - `entropy`: also the entropy of each position's distribution (no gradient).
    public func continuationLogProbs(
        prefix: Tensor, continuations: Tensor, valid: Tensor?, temperature: Double = 1, chunk: Int = 128, entropy wantEntropy: Bool = false
    ) throws(TorchError) -> (logProbs: Tensor, entropy: Tensor?) {
        let p = prefix.shape[0]
        let g = continuations.shape[0]
        let c = continuations.shape[1]
        guard p >= 1, c >= 1 else {
            throw TorchError(operation: "continuationLogProbs", message: "need a prefix and continuations of at least one token (got \(p), \(c))")
        }
        let h = config.hiddenSize
        let prefixPositions = try Tensor.arange(.int(p), device: device).unsqueeze(0)  // [1, P]
        let continuationPositions = try (Tensor.arange(.int(c), device: device) + Double(p)).to(.int64).unsqueeze(0).expand([g, c])
        let (prefixCos, prefixSin) = try rotary.tables(positions: prefixPositions, dtype: dtype)
        let (cos, sin) = try rotary.tables(positions: continuationPositions, dtype: dtype)
        // Continuation queries see the whole prefix, and their own earlier valid tokens (and
        // always themselves, so padded rows are never all masked): [G, 1, C, P + C].
        let queryIndex = try Tensor.arange(.int(c), dtype: .int64, device: device).view([c, 1])
        let keyIndex = try Tensor.arange(.int(c), dtype: .int64, device: device).view([1, c])
        var own = try keyIndex.le(queryIndex).unsqueeze(0).expand([g, c, c])
        if let valid { own = try own.logicalAnd(valid.view([g, 1, c])) }
        own = try own.logicalOr(keyIndex.eq(queryIndex).unsqueeze(0))
        let mask = try Tensor.cat([try Tensor.ones([g, c, p], dtype: .bool, device: device), own], dim: 2).unsqueeze(1)

        // Prefix and continuations travel as one [1, P + G·C, hidden] tensor so a block can be
        // recomputed by gradient checkpointing from a single input.
        var x = try Tensor.cat([
            try embedding.embedding(prefix.unsqueeze(0)), try embedding.embedding(continuations).reshape([1, g * c, h]),
        ], dim: 1)
        let recompute = gradientCheckpointing && isGradEnabled
        let config = config
        for layer in layers {
            let block = { (input: Tensor) throws(TorchError) -> Tensor in
                let xp = try input.narrow(dim: 1, start: 0, length: p)
                let xc = try input.narrow(dim: 1, start: p, length: g * c).reshape([g, c, h])
                let (qp, kp, vp) = try layer.projections(xp, cos: prefixCos, sin: prefixSin, config: config)
                let grouped = config.kvHeadCount != config.headCount
                let prefixOut = try layer.finish(
                    xp, attended: try scaledDotProductAttention(query: qp, key: kp, value: vp, causal: true, groupedQuery: grouped), config: config)
                let (qc, kc, vc) = try layer.projections(xc, cos: cos, sin: sin, config: config)
                let keys = try Tensor.cat([try kp.expand([g, config.kvHeadCount, p, config.headDim]), kc], dim: 2)
                let values = try Tensor.cat([try vp.expand([g, config.kvHeadCount, p, config.headDim]), vc], dim: 2)
                let continuationOut = try layer.finish(
                    xc, attended: try scaledDotProductAttention(query: qc, key: keys, value: values, mask: mask, groupedQuery: grouped), config: config)
                return try Tensor.cat([prefixOut, try continuationOut.reshape([1, g * c, h])], dim: 1)
            }
            x = recompute ? try checkpointed(x, block) : try block(x)
        }
        x = try x.rmsNorm([h], weight: finalNorm, eps: config.rmsNormEps)
        // Token t of continuation g is predicted from the prefix's last state (t = 0) or from
        // the continuation's state t − 1.
        let last = try x.narrow(dim: 1, start: p - 1, length: 1).expand([g, 1, h])
        var inputs = last
        if c > 1 {
            let states = try x.narrow(dim: 1, start: p, length: g * c).reshape([g, c, h]).narrow(dim: 1, start: 0, length: c - 1)
            inputs = try Tensor.cat([last, states], dim: 1)
        }
        let entropy = wantEntropy ? try Tensor.zeros([g * c], dtype: .float32, device: device) : nil
        let logProbs = try inputs.reshape([g * c, h]).linearLogProbs(
            weight: head, targets: continuations.reshape([g * c]), temperature: temperature, chunk: chunk, entropy: entropy)
        return (try logProbs.view([g, c]), try entropy?.view([g, c]))
    }
}
