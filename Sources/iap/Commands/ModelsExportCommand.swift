import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

/// `iap models export`: any model we load (e.g. a GGUF) as a Hugging Face folder.
struct ModelsExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a causal LM as a Hugging Face folder (model.safetensors, config.json, tokenizer files).")

    @Argument(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model: String

    @Option(help: "Destination folder (replaced if it exists).")
    var to: String

    @Option(help: "Weights dtype: float32, bfloat16 or float16.")
    var dtype = WeightType.float32

    func run() throws {
        let files = try CLI.openModel(model)
        let tokenizer = try CLI.loadTokenizer(files)
        do {
            let lm = try CausalLM.load(files, dtype: dtype.dtype)
            try CheckpointWriter.save(lm, tokenizer: tokenizer, chatTemplate: files.chatTemplateText, to: to)
        } catch {
            throw CLI.failure(error)
        }
        print("wrote \(to)")
    }
}
