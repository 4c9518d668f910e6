import ModelFormats
import SafeTensors
import Torch

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
        let temporary = folder + ".partial-\(getpid())"
        func fail(_ reason: String) -> ModelLoadError { ModelLoadError(source: folder, reason: reason) }
        removeTree(temporary)
        guard mkdir(temporary, 0o755) == 0 else { throw fail("cannot create \(temporary) (\(String(cString: strerror(errno))))") }
        do throws(ModelLoadError) {
            var config = model.config
            config.dtype = model.dtype == .bfloat16 ? "bfloat16" : model.dtype == .float16 ? "float16" : "float32"
            try writeText(ModelConfig.causalLM(config).configJSON.serialized, to: temporary + "/config.json")
            do {
                try TensorFile.save(model.weights, metadata: ["format": "pt"], to: temporary + "/model.safetensors")
            } catch {
                throw fail("writing model.safetensors: \(error)")
            }
            if let tokenizer {
                do {
                    try writeText(try tokenizer.tokenizerJSON().serialized, to: temporary + "/tokenizer.json")
                } catch {
                    throw fail("writing tokenizer.json: \(error)")
                }
                let settings = tokenizer.tokenizerConfigJSON(chatTemplate: chatTemplate, maxLength: model.config.maxPositions)
                try writeText(settings.serialized, to: temporary + "/tokenizer_config.json")
            }
            try extra?(temporary)
            // Swap the finished folder in.
            let previous = folder + ".previous-\(getpid())"
            let hadPrevious = access(folder, F_OK) == 0
            if hadPrevious && rename(folder, previous) != 0 { throw fail("cannot move the old folder aside (\(String(cString: strerror(errno))))") }
            guard rename(temporary, folder) == 0 else {
                if hadPrevious { _ = rename(previous, folder) }
                throw fail("cannot rename \(temporary) into place (\(String(cString: strerror(errno))))")
            }
            if hadPrevious { removeTree(previous) }
        } catch {
            removeTree(temporary)
            throw error
        }
    }

    /// Writes a small text file atomically (temporary file, fsync, rename).
    static func writeText(_ text: String, to path: String) throws(ModelLoadError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ModelLoadError(source: path, reason: "cannot create (\(String(cString: strerror(errno))))") }
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 {
                close(fd)
                throw ModelLoadError(source: path, reason: "write failed (\(String(cString: strerror(errno))))")
            }
            offset += n
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            throw ModelLoadError(source: path, reason: "cannot finish writing (\(String(cString: strerror(errno))))")
        }
    }

    /// Removes a folder of plain files (what this writer creates).
    static func removeTree(_ path: String) {
        guard let dir = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            unlink(path + "/" + name)
        }
        closedir(dir)
        rmdir(path)
    }
}
