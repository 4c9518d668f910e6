import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// Model-level benchmarks; `scripts/bench-models.sh` runs them beside transformers.
extension BenchCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate", abstract: "Sample `batch` sequences of `new-tokens` tokens (EOS ignored): tokens/s.")

        @Option(help: "A model name or path.")
        var model = "smollm2-135m-instruct"

        @Option(help: "Sequences (copies of one chat prompt).")
        var batch = 16

        @Option(help: "New tokens per sequence.")
        var newTokens = 256

        @Option(help: "CPU threads.")
        var threads = 2

        @Option(help: "Model dtype: float32 or bfloat16.")
        var dtype = "float32"

        @Option(help: "Device: cpu, cuda[:N], or auto (a GPU when one can be used).")
        var device = "cpu"

        @Option(help: "Lengthen the prompt to this many tokens (the request repeated after it), to time long contexts.")
        var promptTokens: Int?

        @Flag(help: "Keep every slot in the KV cache of sliding-window layers instead of only the window.")
        var wholeWindowCache = false

        @Option(parsing: .upToNextOption, help: "Decoding steps to measure, one after another: eager, static, cuda-graphs.")
        var decodeSteps: [DecodeSteps] = [.eager]

        func run() throws {
            Torch.threads = threads
            Torch.keepFreedMemory()
            let runtime = try CLI.runtime(dtype: dtype, device: device)
            let files = try CLI.openModel(model)
            let tokenizer = try CLI.loadTokenizer(files)
            let lm = try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
            let rendered = try files.chatTemplate().render([ChatMessage(.user, benchmarkPrompt)], addGenerationPrompt: true)
            var prompt = tokenizer.encode(rendered)
            if let promptTokens {
                let filler = tokenizer.encode(" " + benchmarkPrompt)
                while prompt.count < promptTokens { prompt += filler }
                prompt = Array(prompt.prefix(promptTokens))
            }
            var options = GenerationOptions()
            options.maxNewTokens = newTokens
            options.stopAtEOS = false
            options.seed = 1
            options.trimsSlidingWindowCache = !wholeWindowCache
            var first: [[Int]]?
            for mode in decodeSteps {
                options.decodeSteps = mode
                // Warm-up (allocator, kernels).
                var warm = options
                warm.maxNewTokens = 4
                _ = try lm.generate(prompts: [prompt, prompt], tokenizer: tokenizer, options: warm)
                let clock = ContinuousClock()
                var out: [GeneratedSequence] = []
                let elapsed = try clock.measure {
                    out = try lm.generate(prompts: Array(repeating: prompt, count: batch), tokenizer: tokenizer, options: options)
                    try runtime.device.synchronize()
                }
                let produced = out.reduce(0) { $0 + $1.tokens.count }
                // Sampled tokens equal to the first mode's: the modes compute the same logits
                // (a flip where two tokens' probabilities nearly tie is possible in low precision).
                let same = first.map { zip($0, out).filter { $0 == $1.tokens }.count }
                if first == nil { first = out.map(\.tokens) }
                let s = seconds(elapsed)
                BenchResult.print(
                    BenchResult.Generate(
                        batch: batch, newTokens: newTokens, promptTokens: prompt.count, threads: threads, dtype: dtype, device: device,
                        decodeSteps: mode.flagSpelling, sequencesAsFirst: same,
                        tokens: produced, seconds: rounded(s, 2), tokensPerS: rounded(Double(produced) / s, 1),
                        decodeKVCacheMiB: rounded(Double(batch * kvBytes(lm, promptTokens: prompt.count, options: options)) / 1_048_576, 1))
                )
            }
        }

        /// Bytes of one sequence's KV cache at its longest while decoding.
        private func kvBytes(_ lm: CausalLM, promptTokens: Int, options: GenerationOptions) -> Int {
            GenerationMemory.kvCacheBytes(
                config: lm.config, dtype: lm.dtype, promptTokens: promptTokens, maxNewTokens: newTokens,
                windowed: options.trimsSlidingWindowCache && options.decodeSteps == .eager, includingPrefill: false)
        }
    }

    struct TrainStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-step",
            abstract: "Forward + backward of the mean token log-prob over batch × length tokens: tokens/s.")

        @Option(help: "A model name or path, or shape:NAME / shape:config.json (random weights, no files).")
        var model = "smollm2-135m-instruct"

        @Option(help: "Sequences per step.")
        var batch = 8

        @Option(help: "Tokens per sequence.")
        var length = 256

        @Option(help: "CPU threads.")
        var threads = 2

        @Option(help: "Timed steps (after one warm-up step).")
        var steps = 3

        @Option(help: "Model dtype: float32 or bfloat16.")
        var dtype = "float32"

        @Flag(help: "Recompute each block in the backward pass (gradient checkpointing).")
        var checkpointing = false

        @Option(help: "Mixed precision of the forward and backward passes: bfloat16, float16 or off (float32 weights either way).")
        var autocast = "off"

        @Option(help: "Device: cpu, cuda[:N], or auto (a GPU when one can be used).")
        var device = "cpu"

        @Option(help: "MiB of head logits kept from the forward for the backward pass (policy.kept_logits_mib); 0 recomputes all.")
        var keptLogitsMib = 2048

        @Option(
            help:
                "Also time the shared-prompt forward: the batch is one group of continuations of a common prompt of this many tokens (of `length`); prints both and the ratio."
        )
        var sharedPrefix: Int?

        func run() throws {
            Torch.threads = threads
            Torch.keepFreedMemory()
            let runtime = try CLI.runtime(dtype: dtype, device: device)
            let lm = try BenchModel.load(model, dtype: runtime.dtype, device: runtime.device)
            let pass = TrainingPass(gradientCheckpointing: checkpointing, keptLogitsBytes: keptLogitsMib << 20)
            for p in lm.parameters { _ = try p.tensor.requiresGrad() }
            let ids = try Tensor.randint(0, lm.config.vocabSize, [batch, length], generator: Generator(seed: 0)).to(runtime.device)
            let mixed: DType? =
                switch autocast {
                case "off": nil
                case "bfloat16": .bfloat16
                case "float16": .float16
                default: throw CLI.failure("--autocast must be bfloat16, float16 or off")
                }
            func step() throws {
                try withAutocast(mixed, device: runtime.device) {
                    let (logProbs, _) = try lm.sequenceLogProbs(ids: ids, valid: nil, pass: pass)
                    try logProbs.mean().neg().backward()
                }
                for p in lm.parameters { try p.tensor.zeroGrad() }
                try runtime.device.synchronize()
            }
            try step()
            let clock = ContinuousClock()
            var best = Double.infinity
            for _ in 0..<max(steps, 1) { best = min(best, seconds(try clock.measure { try step() })) }
            if let p = sharedPrefix { try timeSharedPrefix(lm, ids: ids, prompt: p, pass: pass) }
            let tokens = batch * length
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            BenchResult.print(
                BenchResult.TrainStep(
                    batch: batch, length: length, threads: threads, dtype: dtype, autocast: autocast, device: device,
                    checkpointing: checkpointing, keptLogitsMiB: keptLogitsMib, bestStepS: rounded(best, 3),
                    tokensPerS: rounded(Double(tokens) / best, 1), peakRSSMB: usage.ru_maxrss / 1024))
        }

        /// The same sequences as one group — a common prompt of `p` tokens, then continuations
        /// of length − p, the loss over the continuations only — through the plain and the
        /// shared-prompt forward; prints both and the ratio.
        private func timeSharedPrefix(_ lm: CausalLM, ids: Tensor, prompt p: Int, pass: TrainingPass) throws {
            let clock = ContinuousClock()
            guard p >= 1, p < length else { throw CLI.failure("--shared-prefix must be between 1 and length − 1") }
            let prompt = try ids.narrow(dim: 1, start: 0, length: p)
            let grouped = try Tensor.cat(
                [try prompt.narrow(dim: 0, start: 0, length: 1).expand([batch, p]), try ids.narrow(dim: 1, start: p, length: length - p)],
                dim: 1)
            let prefix = try prompt.narrow(dim: 0, start: 0, length: 1).reshape([p])
            let continuations = try ids.narrow(dim: 1, start: p, length: length - p).contiguous()
            func plainStep() throws {
                let (logProbs, _) = try lm.sequenceLogProbs(ids: grouped, valid: nil, pass: pass)
                try logProbs.narrow(dim: 1, start: p - 1, length: length - p).mean().neg().backward()
                for p in lm.parameters { try p.tensor.zeroGrad() }
            }
            func sharedStep() throws {
                let (logProbs, _) = try lm.continuationLogProbs(prefix: prefix, continuations: continuations, valid: nil, pass: pass)
                try logProbs.mean().neg().backward()
                for p in lm.parameters { try p.tensor.zeroGrad() }
            }
            try sharedStep()
            var plainBest = Double.infinity, sharedBest = Double.infinity
            for _ in 0..<max(steps, 1) {
                plainBest = min(plainBest, seconds(try clock.measure { try plainStep() }))
                sharedBest = min(sharedBest, seconds(try clock.measure { try sharedStep() }))
            }
            BenchResult.print(
                BenchResult.TrainStepGroup(
                    group: batch, prompt: p, continuation: length - p, threads: threads, dtype: dtype, checkpointing: checkpointing,
                    plainStepS: rounded(plainBest, 3), sharedStepS: rounded(sharedBest, 3), speedup: rounded(plainBest / sharedBest, 2)))
        }
    }
}

/// The chat prompt both sides of the generation benchmark use.
let benchmarkPrompt = "Write a short story about a lighthouse keeper who finds a message in a bottle."
