import ModelFormats

extension MemoryPlanner {
    /// One strategy's terms. Notation of docs/plan.md: P parameters, T trained parameters
    /// (P, or the adapters' A), w bytes per weight, N ranks, L layers, H hidden, I intermediate,
    /// V vocabulary.
    struct Sizes {
        let planner: MemoryPlanner
        let strategy: DistStrategy
        let lora: Bool
        var shape: CausalLMConfig { planner.shape }
        var config: TrainConfig { planner.config }
        var n: Int { max(1, planner.ranks) }
        var w: Int { config.policy.dtype.byteSize }
        var p: Int { shape.parameterCount }
        var trained: Int { lora ? adapterParameters : p }
        /// Bytes of a trained weight: adapters are float32 (lora.dtype), else the policy's.
        var trainedBytes: Int { lora ? config.lora.dtype.byteSize : w }
        /// Float32 masters and moments: reduced-precision weights with optim.master_weights,
        /// and always under fsdp (its float32 master shard is the only copy).
        var mixed: Bool { strategy == .fsdp || (config.optim.masterWeights && trainedBytes < 4) }
        var shards: Bool { strategy != .ddp }

        func term(_ name: String, _ phase: MemoryPlan.Phase, _ bytes: Int, _ formula: String) -> MemoryPlan.Term {
            MemoryPlan.Term(name: name, phase: phase, bytes: bytes, formula: formula)
        }

        /// Held through the whole step.
        func resident() -> [MemoryPlan.Term] {
            let perShard = shards ? "/N" : ""
            var terms: [MemoryPlan.Term] = []
            if strategy == .fsdp {
                terms.append(
                    term("policy weights", .always, 0, "fsdp: freed between uses; the float32 master shard below is the only copy"))
            } else {
                terms.append(term("policy weights", .always, p * w, "P·w"))
            }
            if lora { terms.append(term("adapters", .always, trained * trainedBytes, "A·w_lora")) }
            terms.append(
                term(
                    "master weights", .always, mixed ? trained * 4 / (shards ? n : 1) : 0,
                    mixed ? "T·4\(perShard)" : "none (float32 weights, or optim.master_weights off)"))
            let moment = mixed ? 4 : trainedBytes
            terms.append(term("optimizer moments", .always, 2 * trained * moment / (shards ? n : 1), "2·T·\(moment)\(perShard)"))
            if strategy == .ddp {
                terms.append(term("gradients", .always, trained * trainedBytes, "T·w"))
            } else {
                terms.append(term("gradient shard", .always, trained * 4 / n, "T·4/N (summed gradients of this rank's elements)"))
            }
            if !planner.onGPU && strategy != .fsdp { terms.append(packedCopies()) }
            switch (lora, strategy) {
            case (true, _): terms.append(term("reference", .always, 0, "none: the policy without its adapters"))
            case (false, .fsdp): terms.append(term("reference", .always, p * 4 / n, "P·4/N (frozen float32 shard)"))
            default: terms.append(term("reference", .always, p * w, "P·w (a frozen copy)"))
            }
            return terms
        }

        /// On the CPU, every no-grad forward (generating, log-probs) runs on oneDNN-packed copies
        /// of the blocks' matrices and the head, made on first use and held until the weights
        /// change: one set for the policy and one for a full fine-tuning's frozen reference (a
        /// LoRA reference shares the policy's base weights and their copies). fsdp packs nothing.
        func packedCopies() -> MemoryPlan.Term {
            let copies = lora ? 1 : 2
            let perModel = (shape.layerCount * blockParameters + shape.vocabSize * shape.hiddenSize) * w
            return term(
                "packed inference weights", .always, copies * perModel,
                "\(copies)·(L·block + V·H)·w (oneDNN's packed matrices and head, CPU only; policy\(lora ? " and reference share them" : ", reference"))"
            )
        }

        /// Adapter parameters: r·(in + out) per adapted matrix of every block.
        var adapterParameters: Int {
            let r = config.lora.r > 0 ? config.lora.r : 16
            let h = shape.hiddenSize, q = shape.headCount * shape.headDim, kv = shape.kvHeadCount * shape.headDim,
                i = shape.intermediateSize
            let matrices: [(String, Int, Int)] = [
                ("q_proj", h, q), ("k_proj", h, kv), ("v_proj", h, kv), ("o_proj", q, h), ("gate_proj", h, i), ("up_proj", h, i),
                ("down_proj", i, h),
            ]
            let targets = config.lora.targetModules
            let all = targets.contains("all-linear")
            let perBlock = matrices.filter { all || targets.contains($0.0) }.reduce(0) { $0 + r * ($1.1 + $1.2) }
            return shape.layerCount * perBlock
        }

        /// Parameters of one decoder block, and of the rest (embedding, head, final norm).
        var blockParameters: Int { (p - rootParameters) / max(1, shape.layerCount) }
        var rootParameters: Int { shape.vocabSize * shape.hiddenSize * (shape.tieWordEmbeddings ? 1 : 2) + shape.hiddenSize }
    }
}
