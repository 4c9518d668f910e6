import FileIO
import JSONFiles
import ModelFormats
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// A PEFT adapter folder: `adapter_config.json` and `adapter_model.safetensors` with peft's
/// tensor names — what `PeftModel.from_pretrained(base, folder)` loads and
/// `model.save_pretrained(folder)` writes.
public enum LoRAAdapterFolder {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    /// Whether `folder` holds an adapter config (a checkpoint of a LoRA run does).
    public static func isAdapter(_ folder: String) -> Bool { access(folder + "/" + configFile, F_OK) == 0 }

    /// Writes `model`'s adapters into the existing `folder` (a checkpoint's folder while it is
    /// being written); `baseModel` is recorded as `base_model_name_or_path`.
    public static func write(_ model: CausalLM, into folder: String, baseModel: String?) throws(ModelLoadError) {
        guard var config = model.lora else { throw ModelLoadError(source: folder, reason: "the model has no LoRA adapters to write") }
        config.baseModelNameOrPath = baseModel ?? config.baseModelNameOrPath
        config.inferenceMode = true
        do { try JSONFile.write(config, to: folder + "/" + configFile) } catch {
            throw ModelLoadError(source: folder + "/" + configFile, reason: error.reason)
        }
        do {
            try TensorFile.save(model.adapterTensors, metadata: ["format": "pt"], to: folder + "/" + weightsFile)
        } catch {
            throw ModelLoadError(source: folder + "/" + weightsFile, reason: "writing the adapters: \(error)")
        }
    }

    /// Writes the adapters as a folder of their own, whole or not at all.
    public static func save(_ model: CausalLM, to folder: String, baseModel: String?) throws(ModelLoadError) {
        do {
            try AtomicFolder.replace(folder) { temporary in try write(model, into: temporary, baseModel: baseModel) }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(source: folder, reason: "\(error)")
        }
    }

    /// The adapter config of `folder`, checked (`LoRAAdapterConfig.problem`).
    public static func readConfig(_ folder: String) throws(ModelLoadError) -> LoRAAdapterConfig {
        let configPath = folder + "/" + configFile
        guard access(configPath, F_OK) == 0 else {
            throw ModelLoadError(source: folder, reason: "not a PEFT adapter folder: \(configFile) is missing")
        }
        let config: LoRAAdapterConfig
        do { config = try JSONFile.read(from: configPath) } catch { throw ModelLoadError(source: configPath, reason: error.reason) }
        if let problem = config.problem { throw ModelLoadError(source: configPath, reason: problem) }
        return config
    }

    /// The adapter config and tensors of `folder` (on the CPU, in their stored dtype).
    public static func read(_ folder: String) throws(ModelLoadError) -> (config: LoRAAdapterConfig, tensors: [String: Tensor]) {
        let config = try readConfig(folder)
        let weightsPath = folder + "/" + weightsFile
        guard access(weightsPath, F_OK) == 0 else {
            throw ModelLoadError(source: folder, reason: "\(weightsFile) is missing (adapter_model.bin, peft's older format, is not read)")
        }
        do {
            return (config, try TensorFile.load(from: weightsPath).tensors)
        } catch {
            throw ModelLoadError(source: weightsPath, reason: "\(error)")
        }
    }

    /// `model` with the adapters of `folder`.
    public static func load(_ folder: String, onto model: CausalLM) throws(ModelLoadError) -> CausalLM {
        let (config, tensors) = try read(folder)
        do {
            return try model.withAdapters(config, tensors: tensors, source: folder)
        } catch {
            throw ModelLoadError(
                source: folder,
                reason: error.description.hasPrefix(folder + ": ")
                    ? String(error.description.dropFirst(folder.count + 2)) : error.description)
        }
    }
}
