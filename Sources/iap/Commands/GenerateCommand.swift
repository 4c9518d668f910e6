import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// `iap generate`: sample text from a causal LM, streaming to the terminal.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a causal LM (streams to the terminal; --json for token ids, log-probs, finish reasons).")

    @OptionGroup var model: ModelOptions

    @Option(
        help:
            "Raw prompt text (no chat formatting); special tokens written in it (<|im_start|>, <start_of_turn>) are recognised, as transformers and llama.cpp do."
    )
    var prompt: String?

    @Flag(help: "Treat special tokens written in --prompt as plain text (transformers' split_special_tokens).")
    var splitSpecialTokens = false

    @Option(help: "A user message, formatted with the model's chat template.")
    var chat: String?

    @Option(help: "System message for --chat.")
    var system: String?

    @Option(help: "A chat template file (docs/chat-templates.md) instead of the model's own, or 'plain' for iap's plain template.")
    var chatTemplate: String?

    @Option(help: "Completions to sample (at most \(GenerateCommand.maxCompletions); generated in batches that fit in memory).")
    var n = 1

    @Option(help: "Sampling temperature.")
    var temperature = 1.0

    @Option(help: "Nucleus sampling threshold.")
    var topP = 1.0

    @Option(help: "Keep only the K most likely tokens (0: off).")
    var topK = 0

    @Option(help: "Maximum new tokens per completion.")
    var maxTokens = 256

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(help: "Stop when this text appears (repeatable).")
    var stop: [String] = []

    @Flag(help: "Greedy decoding (temperature, top-p and top-k are ignored).")
    var greedy = false

    @OptionGroup var runtime: RuntimeOptions

    @Option(
        help:
            "Decoding steps: eager; static (the step CUDA graphs record, run eagerly); cuda-graphs (needs --device cuda and libiap_cuda_graphs.so from make gpu-bundle beside iap or at $IAP_CUDA_GRAPHS_PLUGIN)."
    )
    var decodeSteps: DecodeSteps = .eager

    @Flag(help: "Print one JSON object per completion: text, token ids, log-probs, finish reason.")
    var json = false

    static let maxCompletions = 4096

    func validate() throws {
        try decodeSteps.validate(device: runtime.device.description)
        guard (prompt == nil) != (chat == nil) else { throw ValidationError("give exactly one of --prompt or --chat") }
        guard n >= 1, maxTokens >= 0 else { throw ValidationError("--n must be ≥ 1 and --max-tokens ≥ 0") }
        guard n <= Self.maxCompletions else {
            throw ValidationError(
                "--n is \(n); at most \(Self.maxCompletions) completions per run (run again with another --seed for more)")
        }
        guard greedy || (temperature > 0 && temperature.isFinite) else {
            throw ValidationError("--temperature must be a finite number > 0 (or use --greedy); got \(temperature)")
        }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        try FlagCheck.atLeast("--top-k", topK, 0)
        if system != nil && chat == nil { throw ValidationError("--system needs --chat") }
    }

    func run() throws {
        let device = try runtime.resolvedDevice()
        try decodeSteps.check(resolved: device, asked: runtime.device)
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(
            model.model, adapter: model.adapter, chatTemplate: chatTemplate, dtype: runtime.dtype.dtype, device: device)
        let (ids, templateStops) = try promptTokens(tokenizer, template: template)
        var options = generationOptions
        options.stopStrings = stop + templateStops.filter { !stop.contains($0) }
        // Stream only a single completion to a terminal; several would interleave.
        let stream = !json && n == 1
        let results: [GeneratedSequence]
        do {
            let (perBatch, available) = try lm.completionsPerBatch(wanted: n, promptTokens: ids.count, maxNewTokens: maxTokens)
            if perBatch < n, let available {
                CLI.note("generating \(n) completions in batches of \(perBatch) (memory: \(available >> 20) MB available)")
            }
            results = try lm.generateSamples(prompt: ids, tokenizer: tokenizer, options: options, perBatch: perBatch) { _, piece in
                if stream { CLI.writeOutput(piece) }
            }
        } catch {
            throw CLI.failure("\(error)")
        }
        show(results, streamed: stream)
    }
}

extension GenerateCommand {
    /// The prompt's token ids (--prompt as written, or --chat through the chat template) and
    /// the template's stop strings.
    func promptTokens(_ tokenizer: Tokenizer, template: ChatTemplate) throws(ExitCode) -> ([Int], [String]) {
        if let prompt { return (tokenizer.encode(prompt, addSpecialTokens: true, recognizeSpecialTokens: !splitSpecialTokens), []) }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(.system, system)) }
        messages.append(ChatMessage(.user, chat ?? ""))
        do { return (tokenizer.encode(try template.render(messages, addGenerationPrompt: true)), template.stopStrings) } catch {
            throw CLI.failure(error)
        }
    }
}
