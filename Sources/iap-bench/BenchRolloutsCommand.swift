import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

/// Rollout sampling with a bounded number of rows: static against continuous batching.
extension BenchCommand {
    struct Rollouts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollouts",
            abstract:
                "Groups of G completions whose lengths spread over --min-tokens…--max-tokens, at most --max-rows at once: static vs continuous batching."
        )

        @Option(help: "A model name or path.")
        var model = "smollm2-135m-instruct"
        @Option(help: "Questions (groups).")
        var groups = 8
        @Option(help: "Completions per group (G).")
        var groupSize = 5
        @Option(help: "Most sequences decoded at once.")
        var maxRows = 10
        @Option(help: "Shortest group's completion length.")
        var minTokens = 20
        @Option(help: "Longest group's completion length.")
        var maxTokens = 160
        @Option var threads = 2
        @Option(help: "Model dtype: float32 or bfloat16.")
        var dtype = "float32"
        @Option(help: "Device: cpu, cuda[:N], or auto (a GPU when one can be used).")
        var device = "cpu"
        @Option(
            help:
                "Decoding steps: eager, static or cuda-graphs (joins into finished rows and grown caches exercise the graphs' re-captures)."
        )
        var decodeSteps: DecodeSteps = .eager

        func run() throws {
            Torch.threads = threads
            Torch.keepFreedMemory()
            let runtime = try CLI.runtime(dtype: dtype, device: device)
            let files = try CLI.openModel(model)
            let tokenizer = try CLI.loadTokenizer(files)
            let lm = try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
            let prompt = tokenizer.encode(try files.chatTemplate().render([ChatMessage(.user, benchmarkPrompt)], addGenerationPrompt: true))
            // Group k's length: spread evenly over the range, in a fixed shuffled order (long
            // and short groups mixed, as a round's questions come).
            let step = groups > 1 ? Double(maxTokens - minTokens) / Double(groups - 1) : 0
            let lengths = (0..<groups).map { minTokens + Int((Double(($0 * 5) % groups) * step).rounded()) }
            var options = GenerationOptions()
            options.decodeSteps = decodeSteps
            options.samplesPerPrompt = groupSize
            options.stopAtEOS = false
            options.maxNewTokens = maxTokens
            var warm = options
            warm.maxNewTokens = 4
            _ = try lm.generate(prompts: [prompt], tokenizer: tokenizer, options: warm)
            var results: [Batching: Double] = [:]
            for batching in [Batching.static, .continuous] {
                let queued = (0..<groups).map { FedPrompt(ids: prompt, seed: UInt64($0), maxNewTokens: lengths[$0]) }
                var request = GenerationRequest(.list(queued), options: options, perPromptSeeds: true)
                request.batching = batching
                request.maxRows = maxRows
                let clock = ContinuousClock()
                var produced = 0
                let elapsed = try clock.measure {
                    let out = try withNoGrad {
                        try lm.generate(request, tokenizer: tokenizer)
                    }
                    produced = out.reduce(0) { $0 + $1.tokens.count }
                    try runtime.device.synchronize()
                }
                results[batching] = seconds(elapsed)
                BenchResult.print(
                    BenchResult.Rollouts(
                        batching: batching.rawValue, decodeSteps: decodeSteps.flagSpelling, groups: groups, groupSize: groupSize,
                        maxRows: maxRows, minTokens: minTokens,
                        maxTokens: maxTokens, threads: threads, device: device, tokens: produced, seconds: rounded(seconds(elapsed), 2),
                        tokensPerS: rounded(Double(produced) / seconds(elapsed), 1)))
            }
            if let s = results[.static], let c = results[.continuous] { print("continuous / static speed: \(rounded(s / c, 2))×") }
        }
    }
}
