import ArgumentParser
import Transformers

/// Decoding flags of the answering commands (answer, ablate intents), defaulting to the
/// benchmark's generation settings (LaMP-QA: temperature 0.1, top-p 0.95) and the paper's
/// 2,048-token budget. The CPU demo passes `--max-tokens 160 --temperature 0`.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Maximum new tokens per answer (the paper's budget: 2048).")
    var maxTokens = 2048

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature = 0.1

    @Option(help: "Nucleus sampling: keep the smallest set of tokens reaching this probability.")
    var topP = 0.95

    @Option(help: "Seed of sampling (answers are reproducible for a given seed).")
    var seed: UInt64 = 0

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    var generation: GenerationOptions {
        var o = GenerationOptions()
        o.maxNewTokens = maxTokens
        o.greedy = temperature == 0
        o.temperature = max(temperature, 1e-3)
        o.topP = topP
        o.seed = seed
        return o
    }
}
