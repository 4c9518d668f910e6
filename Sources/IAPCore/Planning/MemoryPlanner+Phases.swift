import ModelFormats

extension MemoryPlanner.Sizes {
    /// Rows one rank decodes at once: its questions × G, at most `rollout.max_batch_rows`.
    var rolloutRows: Int {
        let questions = (config.rollout.questionsPerStep + n - 1) / n
        let rows = questions * config.rollout.groupSize
        return min(rows, config.rollout.maxBatchRows ?? rows)
    }

    /// Keys and values of one token in every layer; sliding-window layers hold at most their
    /// window plus the prompt (what the prefill writes).
    func kvBytes(tokens: Int) -> Int {
        let perLayer = 2 * shape.kvHeadCount * shape.headDim * w
        let window = shape.slidingWindow.map { $0 + planner.promptTokens } ?? tokens
        return (0..<shape.layerCount).reduce(0) { $0 + perLayer * (shape.slides($1) ? min(tokens, window) : tokens) }
    }

    /// Generating rollouts (and the reference answers, fewer rows, the same way).
    func generation() -> [MemoryPlan.Term] {
        let prompt = planner.promptTokens
        let tokens = prompt + config.rollout.maxNewTokens
        let rows = rolloutRows
        var terms = [
            term(
                "KV cache", .rollout, rows * kvBytes(tokens: tokens),
                "rows·(prompt + max_new_tokens)·Σ_layers 2·kv_heads·head_dim·w (rows = \(rows))"),
            term("sampling", .rollout, rows * shape.vocabSize * 48, "rows·V·48 (logits, float32 copies, sort, CDF)"),
            term(
                "prefill", .rollout, config.rollout.groupSize * prompt * (4 * shape.hiddenSize + 3 * shape.intermediateSize) * w,
                "G·prompt·(4H + 3I)·w (one block's working set while a question joins)"),
        ]
        if strategy == .fsdp && !lora {
            terms.append(term("whole weights", .rollout, p * w, "P·w (fsdp gathers the model to generate)"))
        }
        return terms
    }

    /// The policy update of one micro-batch: activations kept for the backward pass, the
    /// fused head's logits, and what the strategy gathers.
    func update() -> [MemoryPlan.Term] {
        let m = config.optim.microBatch
        let length = planner.promptTokens + config.rollout.maxNewTokens
        let tokens = m * length
        let act = config.optim.autocast == .off ? w : 2
        let h = shape.hiddenSize, i = shape.intermediateSize
        let block = tokens * (Self.hiddenCoefficient * h + Self.intermediateCoefficient * i) * act
        var terms: [MemoryPlan.Term] = []
        if config.policy.gradientCheckpointing {
            terms.append(
                term(
                    "activations", .update, shape.layerCount * tokens * h * act + block,
                    "L·m·len·H·w_a + m·len·(\(Self.hiddenCoefficient)H + \(Self.intermediateCoefficient)I)·w_a (checkpointed: block inputs + one block)"
                ))
        } else {
            terms.append(
                term(
                    "activations", .update, shape.layerCount * block,
                    "L·m·len·(\(Self.hiddenCoefficient)H + \(Self.intermediateCoefficient)I)·w_a"))
        }
        if lora {
            // The adapters run in float32 and keep their inputs for their own gradients.
            let kept = (config.policy.gradientCheckpointing ? 1 : shape.layerCount) * tokens * (6 * h + i) * 4
            terms.append(
                term(
                    "adapter inputs", .update, kept,
                    config.policy.gradientCheckpointing ? "m·len·(6H + I)·4 (one block)" : "L·m·len·(6H + I)·4"))
        }
        terms.append(headTerm(tokens: tokens))
        switch strategy {
        case .zero2: terms.append(term("whole gradients", .update, trained * trainedBytes, "T·w (before the reduce-scatter)"))
        case .fsdp where !lora:
            terms.append(
                term(
                    "gathered units", .update, (rootParameters + 2 * blockParameters) * w + blockParameters * w,
                    "(embeddings + 2 blocks)·w + one block's gradients·w"))
        default: break
        }
        return terms
    }

    /// The fused head: the logits it keeps from the forward pass (float32, at most
    /// `policy.kept_logits_mib`; turned into their gradient in place), three 128-row chunks of
    /// recomputation, and when the head is trained its float32 gradient [V, H], made at the
    /// start of the head's backward pass while every kept block still lives (docs/plan.md).
    func headTerm(tokens: Int) -> MemoryPlan.Term {
        let kept = min(tokens * shape.vocabSize * 4, config.policy.keptLogitsMiB << 20)
        let chunks = 3 * min(tokens, 128) * shape.vocabSize * 4
        let gradient = lora ? 0 : shape.vocabSize * shape.hiddenSize * 4
        return term(
            "head logits", .update, kept + chunks + gradient,
            "min(m·len·V·4, kept_logits_mib) + 3·128·V·4\(lora ? "" : " + V·H·4") (kept logits; chunks\(lora ? "" : "; the head's gradient"))"
        )
    }

    /// Bytes per token of one block's saved activations, in units of H and I (calibrated
    /// against measured peaks: docs/plan.md).
    static let hiddenCoefficient = 14
    static let intermediateCoefficient = 5
}
