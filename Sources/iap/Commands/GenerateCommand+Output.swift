import CommandSupport
import Transformers

/// What `iap generate` asks the sampler for, and how it prints what came back.
extension GenerateCommand {
    /// The sampling flags.
    var generationOptions: GenerationOptions {
        var options = GenerationOptions()
        options.decodeSteps = decodeSteps
        options.samplesPerPrompt = n
        options.temperature = temperature
        options.topP = topP
        options.topK = topK
        options.maxNewTokens = maxTokens
        options.seed = seed
        options.greedy = greedy
        return options
    }

    /// The completions as JSON lines, or as text (a streamed one is already printed).
    func show(_ results: [GeneratedSequence], streamed: Bool) {
        if json {
            for r in results {
                CommandOutput.print(
                    CommandOutput.Completion(
                        sample: r.sample, text: r.text, tokenIds: r.tokens, logprobs: r.logProbs.map(Double.init),
                        finishReason: r.finishReason.rawValue))
            }
        } else if streamed {
            CLI.writeOutput("\n")
        } else {
            for r in results {
                print("--- sample \(r.sample) (\(r.finishReason.rawValue), \(r.tokens.count) tokens)")
                print(r.text)
            }
        }
    }
}
