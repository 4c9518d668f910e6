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

    @Option(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model = "smollm2-135m-instruct"

    @Option(
        help:
            "A LoRA adapter folder (PEFT: adapter_config.json, adapter_model.safetensors) applied to the model; a LoRA run's checkpoint may also be given as the model itself."
    )
    var adapter: String?

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

    @Option(help: "Model dtype: float32, bfloat16 or float16.")
    var dtype = "float32"

    @Option(help: "Device: cpu, cuda[:N], or auto (a GPU when one can be used).")
    var device = "cpu"

    @Option(
        help:
            "Decoding steps: eager; static (the step CUDA graphs record, run eagerly); cuda-graphs (needs --device cuda and libiap_cuda_graphs.so from make gpu-bundle beside iap or at $IAP_CUDA_GRAPHS_PLUGIN)."
    )
    var decodeSteps: DecodeSteps = .eager

    @Flag(help: "Print one JSON object per completion: text, token ids, log-probs, finish reason.")
    var json = false

    static let maxCompletions = 4096

    func validate() throws {
        try decodeSteps.validate(device: device)
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
        let runtime = try CLI.runtime(dtype: dtype, device: device)
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(
            model, adapter: adapter, chatTemplate: chatTemplate, dtype: runtime.dtype, device: runtime.device)
        let ids: [Int]
        var templateStops: [String] = []
        if let prompt {
            ids = tokenizer.encode(prompt, addSpecialTokens: true, recognizeSpecialTokens: !splitSpecialTokens)
        } else {
            do {
                var messages: [ChatMessage] = []
                if let system { messages.append(ChatMessage(.system, system)) }
                messages.append(ChatMessage(.user, chat ?? ""))
                ids = tokenizer.encode(try template.render(messages, addGenerationPrompt: true))
                templateStops = template.stopStrings
            } catch {
                throw CLI.failure(error)
            }
        }
        var options = GenerationOptions()
        options.decodeSteps = decodeSteps
        options.samplesPerPrompt = n
        options.temperature = temperature
        options.topP = topP
        options.topK = topK
        options.maxNewTokens = maxTokens
        options.seed = seed
        options.greedy = greedy
        options.stopStrings = stop + templateStops.filter { !stop.contains($0) }
        // Stream only a single completion to a terminal; several would interleave.
        let stream = !json && n == 1
        let perBatch = try completionsPerBatch(lm, promptTokens: ids.count)
        let results: [GeneratedSequence]
        do {
            results = try lm.generateSamples(prompt: ids, tokenizer: tokenizer, options: options, perBatch: perBatch) { _, piece in
                if stream { CLI.writeOutput(piece) }
            }
        } catch {
            throw CLI.failure(error)
        }
        if json {
            for r in results {
                CommandOutput.print(
                    CommandOutput.Completion(
                        sample: r.sample, text: r.text, tokenIds: r.tokens, logprobs: r.logProbs.map(Double.init),
                        finishReason: r.finishReason.rawValue))
            }
        } else if stream {
            CLI.writeOutput("\n")
        } else {
            for r in results {
                print("--- sample \(r.sample) (\(r.finishReason.rawValue), \(r.tokens.count) tokens)")
                print(r.text)
            }
        }
    }
}

extension GenerateCommand {
    /// Completions generated together: all of them when they fit in 70% of the memory still
    /// available (CPU), else as many as do; an error with the figures when not one does.
    func completionsPerBatch(_ lm: CausalLM, promptTokens: Int) throws(ExitCode) -> Int {
        guard lm.device == .cpu, let available = GenerationMemory.availableBytes() else { return n }
        let each = GenerationMemory.bytesPerCompletion(
            config: lm.config, dtype: lm.dtype, promptTokens: promptTokens, maxNewTokens: maxTokens)
        let perBatch = GenerationMemory.completionsPerBatch(wanted: n, bytesPerCompletion: each, available: available)
        guard perBatch >= 1 else {
            throw CLI.failure(
                "one completion of \(promptTokens) prompt + \(maxTokens) new tokens needs about \(each >> 20) MB; "
                    + "\(available >> 20) MB of memory are available (lower --max-tokens)")
        }
        if perBatch < n { CLI.note("generating \(n) completions in batches of \(perBatch) (memory: \(available >> 20) MB available)") }
        return perBatch
    }
}

/// `iap embed`: sentence embeddings from a BERT encoder.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print mean-pooled, L2-normalised sentence embeddings (one JSON array per text).")

    @Option(help: "A known model name or a path to a Hugging Face BERT folder.")
    var model = "all-minilm-l6-v2"

    @Option(help: "A text to embed (repeatable).")
    var text: [String] = []

    @Option(help: "Read texts from this file, one per line.")
    var file: String?

    @Option(help: "Maximum tokens per text (longer texts are truncated).")
    var maxLength = 256

    func validate() throws { try FlagCheck.atLeast("--max-length", maxLength, 2) }

    func run() throws {
        var texts = text
        if let file { texts += try CLI.readText(file).split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        guard !texts.isEmpty else { throw CLI.failure("give --text (repeatable) or --file") }
        let files = try CLI.openModel(model)
        let tokenizer = try CLI.loadTokenizer(files)
        do {
            let encoder = try TextEncoders.load(files)
            let embeddings = try encoder.embed(texts, tokenizer: tokenizer, maxLength: maxLength)
            let values = try embeddings.toArray(Float.self)
            let width = embeddings.shape[1]
            for i in 0..<texts.count {
                CommandOutput.print(values[(i * width)..<((i + 1) * width)].map(Double.init))
            }
        } catch {
            throw CLI.failure("\(error)")
        }
    }
}
