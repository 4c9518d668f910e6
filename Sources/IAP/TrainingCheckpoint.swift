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
    public static func save(
        policy: CausalLM, tokenizer: Tokenizer, chatTemplate: String?, optimizer: AdamW, state: TrainerState, run: RunFolder, step: Int, keep: Int,
        format: RolloutFormat
    ) throws {
        let optimizerState = optimizer.stateTensors()
        try CheckpointWriter.save(policy, tokenizer: tokenizer, chatTemplate: chatTemplate, to: run.checkpointPath(step: step)) {
            (temporary) throws(ModelLoadError) in
            do {
                try TensorFile.save(optimizerState.tensors, metadata: ["step": String(optimizerState.step)], to: temporary + "/optimizer.safetensors")
                try JSONFile.write(state, to: temporary + "/" + TrainerState.fileName)
                // How the policy writes its replies, for `iap answer`/`ask`/`serve` with this folder.
                try JSONFile.write(format, to: temporary + "/" + RolloutFormat.fileName)
            } catch {
                throw ModelLoadError(source: temporary, reason: "writing trainer state: \(error)")
            }
        }
        for old in run.checkpointSteps().dropLast(max(1, keep)) { FileSystem.removeFolder(run.checkpointPath(step: old)) }
    }

    /// Copies the folder's weights into `policy`, its moments into `optimizer`, and returns
    /// its trainer state.
    public static func restore(from folder: String, policy: CausalLM, optimizer: AdamW) throws -> TrainerState {
        let state = try JSONFile.read(TrainerState.self, from: folder + "/" + TrainerState.fileName)
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

/// A trainer `TrainingRun` drives (`iap train`, `iap sft`): steps, checkpoints, resumption.
public protocol CheckpointedTrainer: AnyObject {
    /// Completed optimizer steps, and how many the run has.
    var step: Int { get }
    var totalSteps: Int { get }
    /// Work before the first step (SFT: the silver labels); resumable.
    func prepare() async throws
    /// One optimizer step; its metrics line.
    func trainStep() async throws -> MetricsLine
    func saveCheckpoint() throws
    func restore(from folder: String) throws
}

extension TrainConfig {
    /// The policy made trainable (gradients, `policy.gradient_checkpointing`) and its AdamW
    /// from `optim.*`; shared by `iap train` and `iap sft`.
    public func trainableOptimizer(for policy: CausalLM) throws(TorchError) -> AdamW {
        policy.gradientCheckpointing = self.policy.gradientCheckpointing
        policy.keptLogitsBytes = self.policy.keptLogitsMiB << 20
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
