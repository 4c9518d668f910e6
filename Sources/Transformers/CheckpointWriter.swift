import ModelFormats
import SafeTensors
import Torch
import FileIO
import JSONFiles

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a model as a Hugging Face folder that transformers, vLLM and iap load:
/// `model.safetensors` (Hugging Face names, the model's dtype), `config.json`,
/// `tokenizer.json` and `tokenizer_config.json` (with the chat template).
///
/// The folder appears whole or not at all: everything is written into a temporary sibling
/// folder that is then renamed into place (an existing folder of that name is replaced).
public enum CheckpointWriter {
    /// `extra(temporaryFolder)` may add files (optimizer and trainer state) before the
    /// folder is renamed into place, so they appear atomically with the weights.
    public static func save(
        _ model: CausalLM, tokenizer: Tokenizer?, chatTemplate: String?, to folder: String,
        extra: ((String) throws(ModelLoadError) -> Void)? = nil
    ) throws(ModelLoadError) {
        func fail(_ reason: String) -> ModelLoadError { ModelLoadError(source: folder, reason: reason) }
        do {
            try AtomicFolder.replace(folder) { temporary in
                try fill(temporary, model, tokenizer: tokenizer, chatTemplate: chatTemplate, extra: extra)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }

    /// The folder's files, written into `temporary`.
    static func fill(
        _ temporary: String, _ model: CausalLM, tokenizer: Tokenizer?, chatTemplate: String?,
        extra: ((String) throws(ModelLoadError) -> Void)?
    ) throws(ModelLoadError) {
        var config = model.config
        config.dtype = model.dtype == .bfloat16 ? "bfloat16" : model.dtype == .float16 ? "float16" : "float32"
        try writeJSON(ModelConfig.causalLM(config).huggingFaceConfig, to: temporary + "/config.json")
        do {
            try TensorFile.save(model.weights, metadata: ["format": "pt"], to: temporary + "/model.safetensors")
        } catch {
            throw ModelLoadError(source: temporary, reason: "writing model.safetensors: \(error)")
        }
        if let tokenizer {
            try writeTokenizer(tokenizer, chatTemplate: chatTemplate, maxLength: model.config.maxPositions, into: temporary)
        }
        try extra?(temporary)
    }

    /// `tokenizer.json` and `tokenizer_config.json` (with the chat template) into `folder`.
    public static func writeTokenizer(_ tokenizer: Tokenizer, chatTemplate: String?, maxLength: Int, into folder: String)
        throws(ModelLoadError)
    {
        do {
            try writeText(try tokenizer.tokenizerJSON().serialized, to: folder + "/tokenizer.json")
        } catch {
            throw ModelLoadError(source: folder, reason: "writing tokenizer.json: \(error)")
        }
        try writeJSON(tokenizer.tokenizerSettings(chatTemplate: chatTemplate, maxLength: maxLength), to: folder + "/tokenizer_config.json")
    }

    static func writeJSON(_ value: some Encodable, to path: String) throws(ModelLoadError) {
        do { try JSONFile.write(value, to: path) } catch { throw ModelLoadError(source: path, reason: error.reason) }
    }

    static func writeText(_ text: String, to path: String) throws(ModelLoadError) {
        do { try AtomicFile.write(text + "\n", to: path) } catch { throw ModelLoadError(source: path, reason: error.reason) }
    }
}
