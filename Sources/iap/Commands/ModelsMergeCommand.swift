import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

/// `iap models merge`: a base model with a PEFT LoRA adapter folded into its weights, written
/// as a plain Hugging Face folder (what peft's `merge_and_unload` gives).
struct ModelsMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold a LoRA adapter (PEFT folder) into its base model and write a Hugging Face folder.")

    @Argument(help: "The base model: a known model name or a path to a .gguf file or Hugging Face folder.")
    var base: String

    @Option(help: "The adapter folder (adapter_config.json, adapter_model.safetensors), e.g. a LoRA run's checkpoint.")
    var adapter: String

    @Option(help: "Destination folder (replaced if it exists).")
    var to: String

    @Option(help: "Weights dtype: float32, bfloat16 or float16.")
    var dtype = WeightType.float32

    func run() throws {
        let files = try CLI.openModel(base)
        let tokenizer = try CLI.loadTokenizer(files)
        do {
            let adapted = try LoRAAdapterFolder.load(adapter, onto: CausalLM.load(files, dtype: dtype.dtype))
            let merged = try CausalLM(config: adapted.config, weights: adapted.mergedWeights(), source: adapter)
            try CheckpointWriter.save(merged, tokenizer: tokenizer, chatTemplate: files.chatTemplateText, to: to)
        } catch {
            throw CLI.failure("\(error)")
        }
        print("wrote \(to) (\(base) with \(adapter) merged)")
    }
}
