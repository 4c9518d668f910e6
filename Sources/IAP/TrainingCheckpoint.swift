import SafeTensors
import ModelFormats
import Torch
import Transformers

/// What `iap train` and `iap sft` share: checkpoints/step-N as a Hugging Face folder (weights,
/// config, tokenizer, chat template) plus optimizer.safetensors and trainer_state.json,
/// written into a temporary folder renamed into place, the newest K kept.
public enum TrainingCheckpoint {
    public static func save(
        policy: CausalLM, tokenizer: Tokenizer, chatTemplate: String?, optimizer: AdamW, state: JSONValue, run: RunFolder, step: Int, keep: Int
    ) throws {
        let optimizerState = optimizer.stateTensors()
        try CheckpointWriter.save(policy, tokenizer: tokenizer, chatTemplate: chatTemplate, to: run.checkpointPath(step: step)) {
            (temporary) throws(ModelLoadError) in
            do {
                try TensorFile.save(optimizerState.tensors, metadata: ["step": String(optimizerState.step)], to: temporary + "/optimizer.safetensors")
                try AtomicFile.write(state.pretty() + "\n", to: temporary + "/trainer_state.json")
            } catch {
                throw ModelLoadError(source: temporary, reason: "writing trainer state: \(error)")
            }
        }
        for old in run.checkpointSteps().dropLast(max(1, keep)) { FileSystem.removeFolder(run.checkpointPath(step: old)) }
    }

    /// Copies the folder's weights into `policy`, its moments into `optimizer`, and returns
    /// its trainer_state.json.
    public static func restore(from folder: String, policy: CausalLM, optimizer: AdamW) throws -> JSONValue {
        let stateBytes = try AtomicFile.read(folder + "/trainer_state.json")
        let state = try JSONValue.parse(String(decoding: stateBytes, as: UTF8.self))
        let weights = try WeightLoader(files: ModelFiles(path: folder), dtype: policy.dtype, device: policy.device).loadAll()
        try withNoGrad {
            for (name, tensor) in policy.weights {
                guard let saved = weights[name] else { throw ConfigError("\(folder): tensor \(name) is missing") }
                try tensor.copy_(saved)
            }
        }
        let (tensors, metadata) = try TensorFile.load(from: folder + "/optimizer.safetensors")
        try optimizer.loadState(tensors: tensors, step: Int(metadata["step"] ?? "0") ?? 0)
        return state
    }
}

/// A trainer the CLI's loop drives (`iap train`, `iap sft`): steps, checkpoints, resumption.
public protocol CheckpointedTrainer: AnyObject {
    /// Completed optimizer steps, and how many the run has.
    var step: Int { get }
    var totalSteps: Int { get }
    /// Work before the first step (SFT: the silver labels); resumable.
    func prepare() async throws
    /// One optimizer step; its metrics line.
    func trainStep() async throws -> JSONValue
    func saveCheckpoint() throws
    func restore(from folder: String) throws
}

extension TrainConfig {
    /// The policy made trainable (gradients, `policy.gradient_checkpointing`) and its AdamW
    /// from `optim.*`; shared by `iap train` and `iap sft`.
    public func trainableOptimizer(for policy: CausalLM) throws(TorchError) -> AdamW {
        policy.gradientCheckpointing = bool("policy.gradient_checkpointing")
        for p in policy.parameters { _ = try p.tensor.requiresGrad() }
        return AdamW(
            parameters: policy.parameters, learningRate: double("optim.lr"), betas: (double("optim.beta1"), double("optim.beta2")),
            weightDecay: double("optim.weight_decay"), masterWeights: bool("optim.master_weights"))
    }

    /// Warm-up by `optim.warmup_ratio`, then `optim.schedule`, over `totalSteps`.
    public func learningRateSchedule(totalSteps: Int) -> LearningRateSchedule {
        LearningRateSchedule(
            base: double("optim.lr"), warmupRatio: double("optim.warmup_ratio"), totalSteps: totalSteps,
            shape: string("optim.schedule") == "cosine" ? .cosine : .constant)
    }
}
