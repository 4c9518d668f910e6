import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

/// The model a benchmark measures: a model name or path as elsewhere, or `shape:NAME` /
/// `shape:path/config.json` — that architecture with random weights made on the device, no
/// weight files (`ModelShapes.names`: the paper's Qwen2.5-7B, Gemma 3 12B, Mistral-Small-24B,
/// Llama-3.1-8B, and smaller ones). Benchmarks that need no tokenizer take either.
enum BenchModel {
    static let shapePrefix = "shape:"

    static func load(_ reference: String, dtype: DType, device: Device, seed: UInt64 = 0) throws(ExitCode) -> CausalLM {
        guard reference.hasPrefix(shapePrefix) else {
            let files = try CLI.openModel(reference)
            do { return try CausalLM.load(files, dtype: dtype, device: device) } catch { throw CLI.failure(error) }
        }
        let config = try shape(String(reference.dropFirst(shapePrefix.count)))
        do { return try CausalLM.random(config: config, dtype: dtype, device: device, seed: seed) } catch { throw CLI.failure(error) }
    }

    /// A named shape, or the causal LM a config.json describes.
    static func shape(_ name: String) throws(ExitCode) -> CausalLMConfig {
        do throws(ModelFileError) {
            if let named = try ModelShapes.config(named: name) { return named }
            guard name.hasSuffix(".json") else {
                throw ModelFileError(
                    path: name, reason: "not a known shape (\(ModelShapes.names.joined(separator: ", "))) nor a config.json")
            }
            guard case .causalLM(let config) = try ModelConfig.load(configJSON: name) else {
                throw ModelFileError(path: name, reason: "does not describe a causal LM")
            }
            return config
        } catch {
            throw CLI.failure(error)
        }
    }
}
