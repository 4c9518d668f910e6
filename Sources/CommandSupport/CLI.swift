import ArgumentParser
import ModelFormats
import Hub
import ModelStore
import SafeTensors
import Torch
import Transformers
import FileIO

#if canImport(Glibc)
    import Glibc
#endif

/// Helpers the `iap` and `iap-bench` commands share: messages on stderr, failures as one line and exit code 1,
/// and turning `--model` (a known name or a path) into opened model files.
public enum CLI {
    /// This process's environment variables.
    public static var environment: [String: String] {
        var out: [String: String] = [:]
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { out[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            index += 1
        }
        return out
    }

    public static func note(_ message: String) {
        writeError(PrintableText.escaped(message) + "\n")
    }

    /// Straight to file descriptor 2 (the C `stderr` global is not concurrency-safe in Swift 6).
    public static func writeError(_ text: String) { writeAll(text, to: 2) }

    /// Text to standard output without buffering (streamed generation).
    public static func writeOutput(_ text: String) { writeAll(text, to: 1) }

    private static func writeAll(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Prints `iap: <message>` on stderr and returns the exit code to throw.
    public static func failure(_ message: CustomStringConvertible) -> ExitCode {
        writeError("iap: \(PrintableText.escaped(message.description))\n")
        return ExitCode(1)
    }

    /// A catalog name (pulled when missing) or a path to a .gguf file / model folder.
    public static func openModel(_ reference: String) throws(ExitCode) -> ModelFiles {
        let location: ModelLocation
        do {
            location = try ModelStore().resolve(reference) { note("\(reference): \($0)") }
        } catch {
            throw failure(error)
        }
        do { return try ModelFiles(path: location.path) } catch { throw failure(error) }
    }

    /// A causal LM with its tokenizer and chat renderer (a template file, else the adapter
    /// folder's — the one its training used —, else the model's own), with the LoRA adapter
    /// of `adapter` on it — or of `reference` itself when that is an adapter folder (a LoRA
    /// run's checkpoint), whose base is the model it names.
    public static func openLanguageModel(
        _ reference: String, adapter: String? = nil, chatTemplate: String? = nil, dtype: DType = .float32, device: Device = .cpu
    ) throws(ExitCode) -> (files: ModelFiles, tokenizer: Tokenizer, model: CausalLM, template: ChatTemplate) {
        let (base, adapterFolder) = try resolveAdapter(reference, adapter: adapter)
        let files = try openModel(base)
        let tokenizer = try loadTokenizer(files)
        do {
            var model = try CausalLM.load(files, dtype: dtype, device: device)
            var template = try files.chatTemplate(file: chatTemplate)
            if let adapterFolder {
                model = try LoRAAdapterFolder.load(adapterFolder, onto: model)
                if chatTemplate == nil, let text = try ModelFiles.chatTemplateText(inFolder: adapterFolder) {
                    template = try ChatTemplate.detect(text, source: adapterFolder)
                }
            }
            return (files, tokenizer, model, template)
        } catch {
            throw failure("\(error)")
        }
    }

    /// The base model and adapter folder a model reference means: `adapter` on `reference`,
    /// or — when `reference` is a LoRA adapter folder — the base its adapter_config.json names
    /// (`base_model_name_or_path`) with that folder.
    public static func resolveAdapter(_ reference: String, adapter: String?) throws(ExitCode) -> (base: String, adapter: String?) {
        if let adapter { return (reference, try hubFolder(adapter)) }
        let reference = try hubFolder(reference)
        guard LoRAAdapterFolder.isAdapter(reference), access(reference + "/config.json", F_OK) != 0 else { return (reference, nil) }
        let config: LoRAAdapterConfig
        do { config = try LoRAAdapterFolder.readConfig(reference) } catch { throw failure(error) }
        guard let base = config.baseModelNameOrPath, !base.isEmpty else {
            throw failure(
                "\(reference) is a LoRA adapter that does not name its base model (base_model_name_or_path): pass the base model and --adapter \(reference)"
            )
        }
        return (base, reference)
    }

    /// A Hub id (`org/name[@revision]`) that is not a local path: its snapshot folder (fetched
    /// when absent); anything else as it is.
    static func hubFolder(_ reference: String) throws(ExitCode) -> String {
        guard access(reference, F_OK) != 0, HubRepository(parsing: reference) != nil else { return reference }
        do { return try ModelStore().resolve(reference) { note("\(reference): \($0)") }.path } catch { throw failure(error) }
    }

    public static func loadTokenizer(_ model: ModelFiles) throws(ExitCode) -> Tokenizer {
        do { return try model.loadTokenizer() } catch { throw failure(error) }
    }

    /// `--dtype` and `--device` checked, with the CUDA backend loaded when a GPU is asked for.
    public static func runtime(dtype: String, device: String) throws(ExitCode) -> (dtype: DType, device: Device) {
        let types: [String: DType] = [
            "float32": .float32, "f32": .float32, "bfloat16": .bfloat16, "bf16": .bfloat16,
            "float16": .float16, "f16": .float16,
        ]
        guard let type = types[dtype] else { throw failure("--dtype \(dtype): use float32, bfloat16 or float16") }
        guard let place = device == "auto" ? (Device.cudaAvailable ? Device.cuda : .cpu) : Device(device) else {
            throw failure("--device \(device): use cpu, cuda[:N] or auto")
        }
        if case .cuda = place {
            if let problem = CUDARuntime.load() { throw failure("--device \(device): \(problem)") }
            guard Device.cudaAvailable else { throw failure("--device \(device): no CUDA device is available") }
        }
        return (type, place)
    }

    /// Whole file as text, or a clear failure naming it.
    public static func readText(_ path: String) throws(ExitCode) -> String {
        do { return String(decoding: try AtomicFile.read(path), as: UTF8.self) } catch { throw failure(error) }
    }

    /// All of standard input as text.
    public static func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n > 0 {
                bytes += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (at least one space after).
    public func padding(toLength width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

/// `--batching continuous|static` (iap serve, iap answer, the benchmarks).
extension Batching: ExpressibleByArgument {}
