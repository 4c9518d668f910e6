import FileIO
import Hub
import ModelFormats
import ModelStore
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// Why a model named by a user could not be opened; the text names the model, file or field
/// (the catalog's, the Hub's, the loader's own message, unchanged).
public struct ModelOpeningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A causal LM ready to run: its files, tokenizer, weights (adapters on) and chat renderer.
public struct OpenedLanguageModel: Sendable {
    public let files: ModelFiles
    public let tokenizer: Tokenizer
    public let model: CausalLM
    public let template: ChatTemplate
}

/// Opening a model by what a user calls it — a catalog name (pulled when missing), a Hub id
/// (`org/name[@revision]`, fetched into the Hub cache), a `.gguf` file or a model folder —
/// as `from_pretrained` does in transformers. `log` hears about downloads.
public enum PretrainedModel {
    public typealias Log = @Sendable (String) -> Void

    /// The model files `reference` names.
    public static func files(_ reference: String, log: @escaping Log = { _ in }) throws(ModelOpeningError) -> ModelFiles {
        let location: ModelLocation
        do { location = try ModelStore().resolve(reference) { log("\(reference): \($0)") } } catch {
            throw ModelOpeningError(error.description)
        }
        do { return try ModelFiles(path: location.path) } catch { throw ModelOpeningError("\(error)") }
    }

    /// A causal LM with its tokenizer and chat renderer (a template file, else the adapter
    /// folder's — the one its training used —, else the model's own), with the LoRA adapter
    /// of `adapter` on it — or of `reference` itself when that is an adapter folder (a LoRA
    /// run's checkpoint), whose base is the model it names.
    public static func languageModel(
        _ reference: String, adapter: String? = nil, chatTemplate: String? = nil, dtype: DType = .float32, device: Device = .cpu,
        log: @escaping Log = { _ in }
    ) throws(ModelOpeningError) -> OpenedLanguageModel {
        let (base, adapterFolder) = try resolveAdapter(reference, adapter: adapter, log: log)
        let files = try files(base, log: log)
        do {
            let tokenizer = try files.loadTokenizer()
            var model = try CausalLM.load(files, dtype: dtype, device: device)
            var template = try files.chatTemplate(file: chatTemplate)
            if let adapterFolder {
                model = try LoRAAdapterFolder.load(adapterFolder, onto: model)
                if chatTemplate == nil, let text = try ModelFiles.chatTemplateText(inFolder: adapterFolder) {
                    template = try ChatTemplate.detect(text, source: adapterFolder)
                }
            }
            return OpenedLanguageModel(files: files, tokenizer: tokenizer, model: model, template: template)
        } catch {
            throw ModelOpeningError("\(error)")
        }
    }

    /// The base model and adapter folder a model reference means: `adapter` on `reference`,
    /// or — when `reference` is a LoRA adapter folder — the base its adapter_config.json names
    /// (`base_model_name_or_path`) with that folder.
    public static func resolveAdapter(_ reference: String, adapter: String?, log: @escaping Log = { _ in }) throws(ModelOpeningError) -> (
        base: String, adapter: String?
    ) {
        if let adapter { return (reference, try hubFolder(adapter, log: log)) }
        let reference = try hubFolder(reference, log: log)
        guard LoRAAdapterFolder.isAdapter(reference), access(reference + "/config.json", F_OK) != 0 else { return (reference, nil) }
        let config: LoRAAdapterConfig
        do { config = try LoRAAdapterFolder.readConfig(reference) } catch { throw ModelOpeningError(error.description) }
        guard let base = config.baseModelNameOrPath, !base.isEmpty else {
            throw ModelOpeningError(
                "\(reference) is a LoRA adapter that does not name its base model (base_model_name_or_path): pass the base model and --adapter \(reference)"
            )
        }
        return (base, reference)
    }

    /// A Hub id (`org/name[@revision]`) that is not a local path: its snapshot folder (fetched
    /// when absent); anything else as it is.
    static func hubFolder(_ reference: String, log: @escaping Log) throws(ModelOpeningError) -> String {
        guard access(reference, F_OK) != 0, HubRepository(parsing: reference) != nil else { return reference }
        do { return try ModelStore().resolve(reference) { log("\(reference): \($0)") }.path } catch {
            throw ModelOpeningError(error.description)
        }
    }
}
