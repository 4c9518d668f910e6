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
    /// - `pass`: the trainer's gradient checkpointing, kept logits and block hooks.
    public func continuationLogProbs(
        prefix: Tensor, continuations: Tensor, valid: Tensor?, temperature: Double = 1, chunk: Int = 128, entropy wantEntropy: Bool = false,
        pass: TrainingPass = TrainingPass()
    ) throws(TorchError) -> (logProbs: Tensor, entropy: Tensor?) {
        let p = prefix.shape[0]
        let g = continuations.shape[0]
        let c = continuations.shape[1]
        guard p >= 1, c >= 1 else {
            throw TorchError(
                operation: "continuationLogProbs", message: "need a prefix and continuations of at least one token (got \(p), \(c))")
        }
        let h = config.hiddenSize
        let prefixPositions = try Tensor.arange(.int(p), device: device).unsqueeze(0)  // [1, P]
        let continuationPositions = try (Tensor.arange(.int(c), device: device) + Double(p)).to(.int64).unsqueeze(0).expand([g, c])
        let global = (
            prefix: try rotary.tables(positions: prefixPositions, dtype: dtype),
            continuation: try rotary.tables(positions: continuationPositions, dtype: dtype)
        )
        let local = try localRotary.map { (r) throws(TorchError) in
            (
                prefix: try r.tables(positions: prefixPositions, dtype: dtype),
                continuation: try r.tables(positions: continuationPositions, dtype: dtype)
            )
        }
        let fullMasks = try sharedPrefixMasks(prefix: p, groups: g, length: c, valid: valid, window: nil)
        let slidingMasks = try config.slidingWindow.map { (w) throws(TorchError) in
            try sharedPrefixMasks(prefix: p, groups: g, length: c, valid: valid, window: w)
        }

        // Prefix and continuations travel as one [1, P + G·C, hidden] tensor so a block can be
        // recomputed by gradient checkpointing from a single input.
        var x = try Tensor.cat([try embed(prefix.unsqueeze(0)), try embed(continuations).reshape([1, g * c, h])], dim: 1)
        let recompute = pass.gradientCheckpointing && isGradEnabled
        if recompute && !x.requiresGrad { x = try x.detach().requiresGrad() }  // see hiddenStates
        let config = config
        let scale = config.attentionScale
        for (i, layer) in layers.enumerated() {
            let tables = config.slides(i) ? local ?? global : global
            let masks = config.slides(i) ? slidingMasks ?? fullMasks : fullMasks
            let block = { (input: Tensor) throws(TorchError) -> Tensor in
                let xp = try input.narrow(dim: 1, start: 0, length: p)
                let xc = try input.narrow(dim: 1, start: p, length: g * c).reshape([g, c, h])
                let (qp, kp, vp) = try layer.projections(xp, cos: tables.prefix.cos, sin: tables.prefix.sin, config: config)
                let grouped = config.kvHeadCount != config.headCount
                let prefixAttention = try scaledDotProductAttention(
                    query: qp, key: kp, value: vp, mask: masks.prefix, causal: masks.prefix == nil, scale: scale, groupedQuery: grouped)
                let prefixOut = try layer.finish(xp, attended: prefixAttention, config: config)
                let (qc, kc, vc) = try layer.projections(xc, cos: tables.continuation.cos, sin: tables.continuation.sin, config: config)
                let keys = try Tensor.cat([try kp.expand([g, config.kvHeadCount, p, config.headDim]), kc], dim: 2)
                let values = try Tensor.cat([try vp.expand([g, config.kvHeadCount, p, config.headDim]), vc], dim: 2)
                let continuationAttention = try scaledDotProductAttention(
                    query: qc, key: keys, value: values, mask: masks.continuation, scale: scale, groupedQuery: grouped)
                let continuationOut = try layer.finish(xc, attended: continuationAttention, config: config)
                return try Tensor.cat([prefixOut, try continuationOut.reshape([1, g * c, h])], dim: 1)
            }
            x = try runBlock(i, x, recompute: recompute, hooks: pass.blockHooks, block)
        }
        return try continuationHead(
            config.norm(x, finalNorm, size: h), prefix: p, continuations: continuations, temperature: temperature, chunk: chunk,
            entropy: wantEntropy, keptLogitsBytes: pass.keptLogitsBytes)
    }

    /// The head's log-probs [G, C] (and entropies) of the continuations from the blocks'
    /// normed output x [1, P + G·C, hidden]: token t of continuation g is predicted from the
    /// prefix's last state (t = 0) or from the continuation's state t − 1.
    private func continuationHead(
        _ x: Tensor, prefix p: Int, continuations: Tensor, temperature: Double, chunk: Int, entropy wantEntropy: Bool, keptLogitsBytes: Int
    ) throws(TorchError) -> (logProbs: Tensor, entropy: Tensor?) {
        let (g, c, h) = (continuations.shape[0], continuations.shape[1], config.hiddenSize)
        let last = try x.narrow(dim: 1, start: p - 1, length: 1).expand([g, 1, h])
        var inputs = last
        if c > 1 {
            let states = try x.narrow(dim: 1, start: p, length: g * c).reshape([g, c, h]).narrow(dim: 1, start: 0, length: c - 1)
            inputs = try Tensor.cat([last, states], dim: 1)
        }
        let entropy = wantEntropy ? try Tensor.zeros([g * c], dtype: .float32, device: device) : nil
        let logProbs = try inputs.reshape([g * c, h]).linearLogProbs(
            weight: head, targets: continuations.reshape([g * c]), temperature: temperature, chunk: chunk, entropy: entropy,
            keptLogitsBytes: keptLogitsBytes)
        return (try logProbs.view([g, c]), try entropy?.view([g, c]))
    }

    /// Masks for `continuationLogProbs`: the prefix's (nil: plain causal, when no window cuts
    /// into it; else [1, 1, P, P]) and the continuations' [G, 1, C, P + C]: a continuation
    /// query sees the prefix and its own earlier valid tokens (and always itself, so padded
    /// rows are never all masked), within `window` positions when one is given.
    func sharedPrefixMasks(prefix p: Int, groups g: Int, length c: Int, valid: Tensor?, window: Int?) throws(TorchError) -> (
        prefix: Tensor?, continuation: Tensor
    ) {
        let queryIndex = try Tensor.arange(.int(c), dtype: .int64, device: device).view([c, 1])
        let keyIndex = try Tensor.arange(.int(c), dtype: .int64, device: device).view([1, c])
        var own = try keyIndex.le(queryIndex)
        var seesPrefix = try Tensor.ones([c, p], dtype: .bool, device: device)
        var prefixMask: Tensor?
        if let window {
            own = try own.logicalAnd(try keyIndex.gt(queryIndex - Double(window)))
            // Query t sits at position p + t; prefix key j is visible when j > p + t − window.
            let prefixKeys = try Tensor.arange(.int(p), dtype: .int64, device: device).view([1, p])
            seesPrefix = try prefixKeys.gt(queryIndex + Double(p - window))
            if p > window {
                let rows = try prefixKeys.view([p, 1])
                prefixMask = try prefixKeys.le(rows).logicalAnd(try prefixKeys.gt(rows - Double(window))).view([1, 1, p, p])
            }
        }
        var ownRows = try own.unsqueeze(0).expand([g, c, c])
        if let valid { ownRows = try ownRows.logicalAnd(valid.view([g, 1, c])) }
        ownRows = try ownRows.logicalOr(keyIndex.eq(queryIndex).unsqueeze(0))
        let continuation = try Tensor.cat([try seesPrefix.unsqueeze(0).expand([g, c, p]), ownRows], dim: 2).unsqueeze(1)
        return (prefixMask, continuation)
    }
}
