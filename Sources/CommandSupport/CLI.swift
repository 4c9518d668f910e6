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

    /// A catalog name (pulled when missing), a Hub id, or a path to a .gguf file / model folder.
    public static func openModel(_ reference: String) throws(ExitCode) -> ModelFiles {
        do { return try PretrainedModel.files(reference, log: { note($0) }) } catch { throw failure(error) }
    }

    /// `PretrainedModel.languageModel`, its failure printed.
    public static func openLanguageModel(
        _ reference: String, adapter: String? = nil, chatTemplate: String? = nil, dtype: DType = .float32, device: Device = .cpu
    ) throws(ExitCode) -> (files: ModelFiles, tokenizer: Tokenizer, model: CausalLM, template: ChatTemplate) {
        do {
            let opened = try PretrainedModel.languageModel(
                reference, adapter: adapter, chatTemplate: chatTemplate, dtype: dtype, device: device, log: { note($0) })
            return (opened.files, opened.tokenizer, opened.model, opened.template)
        } catch {
            throw failure(error)
        }
    }

    /// `PretrainedModel.resolveAdapter`, its failure printed.
    public static func resolveAdapter(_ reference: String, adapter: String?) throws(ExitCode) -> (base: String, adapter: String?) {
        do { return try PretrainedModel.resolveAdapter(reference, adapter: adapter, log: { note($0) }) } catch { throw failure(error) }
    }

    public static func loadTokenizer(_ model: ModelFiles) throws(ExitCode) -> Tokenizer {
        do { return try model.loadTokenizer() } catch { throw failure(error) }
    }

    /// `--dtype` and `--device` given as text (the benchmarks' flags), checked, with the CUDA
    /// backend loaded when a GPU is asked for.
    public static func runtime(dtype: String, device: String) throws(ExitCode) -> (dtype: DType, device: Device) {
        guard let type = WeightType(name: dtype)?.dtype else { throw failure("--dtype \(dtype): use float32, bfloat16 or float16") }
        guard let choice = DeviceChoice(device) else { throw failure("--device \(device): use cpu, cuda[:N] or auto") }
        return (type, try resolve(choice))
    }

    /// The device `--device` asks for, with the CUDA backend loaded when it is a GPU.
    public static func resolve(_ device: DeviceChoice) throws(ExitCode) -> Device {
        do { return try device.resolved() } catch { throw failure("--device \(device): \(error)") }
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
