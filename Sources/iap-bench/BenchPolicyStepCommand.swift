import ArgumentParser
import CommandSupport
import ModelFormats
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

extension BenchCommand {
    /// The memory and time of one policy update as the trainer makes it: reference log-probs
    /// (no autograd), the policy's forward and backward, clipping and an AdamW step — with
    /// full fine-tuning (a second, frozen copy of the model as the reference) or with LoRA
    /// adapters (the reference is the same weights with the adapters off). Run once per
    /// setting: the peak resident memory is the process's.
    struct PolicyStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy-step",
            abstract:
                "One policy update (no-grad log-probs of policy and reference, forward, backward, AdamW): time and peak memory, full or LoRA."
        )

        @Option(help: "A model name or path, or shape:NAME / shape:config.json (random weights, no files).")
        var model = "smollm2-135m-instruct"

        @Option(help: "Sequences per step.")
        var batch = 8

        @Option(help: "Tokens per sequence.")
        var length = 256

        @Option(help: "CPU threads.")
        var threads = 2

        @Option(help: "Timed steps (after one warm-up step).")
        var steps = 2

        @Option(help: "LoRA rank on all linear layers (0: full fine-tuning with a reference copy).")
        var loraR = 0

        @Option(help: "Base model dtype: float32 or bfloat16 (adapters stay float32).")
        var dtype = "float32"

        @Option(help: "Device: cpu, cuda[:N], or auto (a GPU when one can be used).")
        var device = "cpu"

        @Flag(help: "Recompute each block in the backward pass (policy.gradient_checkpointing).")
        var checkpointing = false

        @Option(help: "MiB of head logits kept from the forward for the backward pass (policy.kept_logits_mib); 0 recomputes all.")
        var keptLogitsMib = 2048

        func run() throws {
            Torch.threads = threads
            Torch.keepFreedMemory()
            let runtime = try CLI.runtime(dtype: dtype, device: device)
            let base = try BenchModel.load(model, dtype: runtime.dtype, device: runtime.device)
            do {
                var config = LoRAAdapterConfig()
                config.r = loraR
                let policy = loraR > 0 ? try base.withNewAdapters(config, seed: 0) : base
                let reference =
                    loraR > 0 ? policy.withoutAdapters() : try BenchModel.load(model, dtype: runtime.dtype, device: runtime.device)
                for p in policy.parameters { _ = try p.tensor.requiresGrad() }
                let pass = TrainingPass(gradientCheckpointing: checkpointing, keptLogitsBytes: keptLogitsMib << 20)
                let optimizer = AdamW(parameters: policy.parameters, learningRate: 1e-5)
                let ids = try Tensor.randint(0, policy.config.vocabSize, [batch, length], generator: Generator(seed: 0)).to(runtime.device)
                func step() throws {
                    // As a training step: the policy's own no-grad pass (its rollouts' log-probs; on
                    // the CPU it packs its weights, as generating does) and the reference's.
                    _ = try withNoGrad { try policy.sequenceLogProbs(ids: ids, valid: nil).logProbs }
                    let old = try withNoGrad { try reference.sequenceLogProbs(ids: ids, valid: nil).logProbs }
                    let (logProbs, _) = try policy.sequenceLogProbs(ids: ids, valid: nil, pass: pass)
                    try ((logProbs - old).square().mean() - logProbs.mean()).backward()
                    _ = try clipGradientNorm(policy.parameters.map(\.tensor), maxNorm: 1)
                    try optimizer.step()
                    for p in policy.parameters { try p.tensor.zeroGrad() }
                    try runtime.device.synchronize()
                }
                try step()
                let clock = ContinuousClock()
                var best = Double.infinity
                for _ in 0..<max(steps, 1) { best = min(best, seconds(try clock.measure { try step() })) }
                var usage = rusage()
                getrusage(RUSAGE_SELF.rawValue, &usage)
                let trained = policy.parameters.reduce(0) { $0 + $1.tensor.count }
                BenchResult.print(
                    BenchResult.PolicyStep(
                        batch: batch, length: length, threads: threads, loraR: loraR, trainedParameters: trained,
                        bestStepS: rounded(best, 3), tokensPerS: rounded(Double(batch * length) / best, 1),
                        peakRSSMB: usage.ru_maxrss / 1024))
            } catch {
                throw CLI.failure("\(error)")
            }
        }
    }
}
