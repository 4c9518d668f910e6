import FileIO
import IAPCore
import JSONFiles
import ModelFormats
import SafeTensors
import Torch
import Transformers

/// What `iap train` and `iap sft` share: checkpoints/step-N as a Hugging Face folder (weights,
/// config, tokenizer, chat template) plus optimizer.safetensors and trainer_state.json,
/// and iap_rollout.json (the scaffold and prefill answering with it uses), written into a
/// temporary folder renamed into place, the newest K kept.
public enum TrainingCheckpoint {
    /// How the optimizer's state goes into the checkpoint: whole tensors from this process,
    /// or the shards every rank of a `zero2` job wrote into `staging`.
    public enum OptimizerFiles {
        case whole(AdamW)
        case shards(ShardedAdamW, staging: String)
    }

    public static func save(
        policy: CausalLM, tokenizer: Tokenizer, chatTemplate: String?, optimizer: OptimizerFiles, state: TrainerState, run: RunFolder,
        step: Int,
        keep: Int, format: RolloutFormat
    ) throws {
        let path = run.checkpointPath(step: step)
        let trainerFiles = { (temporary: String) throws(ModelLoadError) -> Void in
            do {
                switch optimizer {
                case .whole(let adamW):
                    let whole = adamW.stateTensors()
                    try TensorFile.save(
                        whole.tensors, metadata: ["step": String(whole.step)], to: temporary + "/" + OptimizerCheckpoint.wholeFile)
                case .shards(let sharded, let staging):
                    try OptimizerCheckpoint.collectShards(sharded, from: staging, into: temporary)
                }
                try JSONFile.write(state, to: temporary + "/" + TrainerState.fileName)
                // How the policy writes its replies, for `iap answer`/`ask`/`serve` with this folder.
                try JSONFile.write(format, to: temporary + "/" + RolloutFormat.fileName)
            } catch {
                throw ModelLoadError(source: temporary, reason: "writing trainer state: \(error)")
            }
        }
        if policy.lora != nil {
            // A PEFT adapter folder (base_model_name_or_path names the base) with the tokenizer.
            try AtomicFolder.replace(path) { temporary in
                try LoRAAdapterFolder.write(policy, into: temporary, baseModel: nil)
                try CheckpointWriter.writeTokenizer(
                    tokenizer, chatTemplate: chatTemplate, maxLength: policy.config.maxPositions, into: temporary)
                try trainerFiles(temporary)
            }
        } else {
            try CheckpointWriter.save(policy, tokenizer: tokenizer, chatTemplate: chatTemplate, to: path, extra: trainerFiles)
        }
        for old in run.checkpointSteps().dropLast(max(1, keep)) { FileSystem.removeFolder(run.checkpointPath(step: old)) }
    }

    /// A damaged or hand-edited trainer_state.json whose step disagrees with its folder would
    /// resume "at step 1" and write a checkpoint named for its own step (2^63 − 1 once).
    static func check(_ state: TrainerState, of folder: String, lastStep: Int?) throws(ConfigError) {
        let file = folder + "/" + TrainerState.fileName
        let name = folder.split(separator: "/").last ?? ""
        if name.hasPrefix("step-"), let named = Int(name.dropFirst(5)), named != state.step {
            throw ConfigError("\(file): step is \(state.step) but the folder is \(name) (a damaged or edited file?)")
        }
        if let lastStep, state.step > lastStep {
            throw ConfigError(
                "\(file): step \(state.step) is past run.steps (\(lastStep)); resume with --set run.steps=N for N ≥ \(state.step)")
        }
    }

    /// Copies the folder's weights (a LoRA run's: its adapters) into `policy`, its optimizer
    /// state through `restoreOptimizer` (the strategy's), and returns its trainer state —
    /// whose step is checked first against the folder's name and the run's last step
    /// (`lastStep`; nil when the run has none).
    public static func restore(
        from folder: String, policy: CausalLM, lastStep: Int?, restoreOptimizer: (String) throws -> Void
    ) throws -> TrainerState {
        let state = try JSONFile.read(TrainerState.self, from: folder + "/" + TrainerState.fileName)
        try check(state, of: folder, lastStep: lastStep)
        let trained = policy.lora == nil ? policy.weights : policy.adapterTensors
        let weights: [String: Tensor]
        if policy.lora != nil {
            let (config, tensors) = try LoRAAdapterFolder.read(folder)
            guard config.r == policy.lora?.r, config.targetModules == policy.lora?.targetModules else {
                throw ConfigError("\(folder): its adapters (r = \(config.r), \(config.targetModules)) are not the ones lora.* describes")
            }
            weights = tensors
        } else {
            guard !LoRAAdapterFolder.isAdapter(folder) else {
                throw ConfigError("\(folder) holds LoRA adapters: resume it with the same lora.* settings")
            }
            weights = try WeightLoader(files: ModelFiles(path: folder), dtype: policy.dtype, device: policy.device).loadAll()
        }
        try withNoGrad {
            for (name, tensor) in trained {
                guard let saved = weights[name] else { throw ConfigError("\(folder): tensor \(name) is missing") }
                try tensor.copy_(saved)
            }
        }
        try restoreOptimizer(folder)
        return state
    }
}

extension TrainConfig {
    /// The model trained: `base` itself, or `base` with fresh LoRA adapters (seeded by
    /// `run.seed`) when `lora.r > 0`; the adapters record `policy.model` as their base.
    public func trainedModel(_ base: CausalLM) throws(LoRAError) -> CausalLM {
        guard var adapters = lora.adapterConfig else { return base }
        adapters.baseModelNameOrPath = policy.model
        let dtype: DType =
            switch lora.dtype {
            case .float32: .float32
            case .bfloat16: .bfloat16
            case .float16: .float16
            }
        return try base.withNewAdapters(adapters, seed: UInt64(run.seed), dtype: dtype)
    }

    /// How the trainers run the policy's passes with autograd: `policy.gradient_checkpointing`
    /// and `policy.kept_logits_mib`.
    public var trainingPass: TrainingPass {
        TrainingPass(gradientCheckpointing: policy.gradientCheckpointing, keptLogitsBytes: policy.keptLogitsMiB << 20)
    }

    /// The policy made trainable (gradients) and its AdamW from `optim.*`; shared by
    /// `iap train` and `iap sft`.
    public func trainableOptimizer(for policy: CausalLM) throws(TorchError) -> AdamW {
        for p in policy.parameters { _ = try p.tensor.requiresGrad() }
        return AdamW(
            parameters: policy.parameters, learningRate: optim.lr, betas: (optim.beta1, optim.beta2), weightDecay: optim.weightDecay,
            masterWeights: optim.masterWeights)
    }

    /// The dtype of `optim.autocast` (nil when off).
    public var autocastDType: DType? {
        switch optim.autocast {
        case .bfloat16: .bfloat16
        case .float16: .float16
        case .off: nil
        }
    }
}
