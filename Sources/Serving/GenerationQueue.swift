import ModelFormats
import Synchronization
import Torch
import Transformers

/// Runs generation for concurrent requests one batch at a time on the model. Requests that
/// arrive while a batch runs wait; when it ends (and after a 10 ms gathering window), every
/// waiting request with the same decoding settings as the oldest one joins the next batch (judges send many identical-
/// settings requests, which then share one batched forward pass per token).
public actor GenerationQueue {
    public struct Job: Sendable {
        let prompt: [Int]
        let options: GenerationOptions
        /// Receives (sample index, text piece) while generating.
        let onText: (@Sendable (Int, String) -> Void)?
        let continuation: CheckedContinuation<[GeneratedSequence], Error>
    }

    public let model: CausalLM
    public let tokenizer: Tokenizer
    public let maxBatch: Int
    private var waiting: [Job] = []
    private var running = false

    public init(model: CausalLM, tokenizer: Tokenizer, maxBatch: Int = 16) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
    }

    public var queued: Int { waiting.count }

    /// Generates for one prompt; returns its `options.samplesPerPrompt` completions.
    public func submit(prompt: [Int], options: GenerationOptions, onText: (@Sendable (Int, String) -> Void)? = nil) async throws
        -> [GeneratedSequence]
    {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Job(prompt: prompt, options: options, onText: onText, continuation: continuation))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            // A short gathering window: requests sent together (a judge's fan-out, clients
            // starting at once) then share a batch instead of the first one running alone.
            if waiting.count < maxBatch { try? await Task.sleep(nanoseconds: 10_000_000) }
            let first = waiting[0]
            var batch: [Job] = []
            var rest: [Job] = []
            var sequences = 0
            for job in waiting {
                if GenerationQueue.sameSettings(job.options, first.options) && sequences + job.options.samplesPerPrompt <= maxBatch * 4
                    && batch.count < maxBatch
                {
                    batch.append(job)
                    sequences += job.options.samplesPerPrompt
                } else {
                    rest.append(job)
                }
            }
            waiting = rest
            let model = self.model
            let tokenizer = self.tokenizer
            let prompts = batch.map(\.prompt)
            let callbacks = batch.map(\.onText)
            let options = first.options
            // The forward passes run off this actor so new requests can queue meanwhile.
            let outcome = await Task.detached { @Sendable () -> Result<[GeneratedSequence], TorchError> in
                let samples = options.samplesPerPrompt
                do throws(TorchError) {
                    let out = try model.generate(prompts: prompts, tokenizer: tokenizer, options: options) { index, piece in
                        callbacks[index / samples]?(index % samples, piece)
                    }
                    return .success(out)
                } catch {
                    return .failure(error)
                }
            }.value
            switch outcome {
            case .success(let out):
                let samples = first.options.samplesPerPrompt
                for (j, job) in batch.enumerated() { job.continuation.resume(returning: Array(out[(j * samples)..<((j + 1) * samples)])) }
            case .failure(let error):
                for job in batch { job.continuation.resume(throwing: error) }
            }
        }
        running = false
    }

    static func sameSettings(_ a: GenerationOptions, _ b: GenerationOptions) -> Bool {
        a.maxNewTokens == b.maxNewTokens && a.temperature == b.temperature && a.topP == b.topP && a.topK == b.topK
            && a.greedy == b.greedy && a.samplesPerPrompt == b.samplesPerPrompt && a.stopStrings == b.stopStrings
            && a.stopTokenIds == b.stopTokenIds && a.seed == b.seed && a.stopAtEOS == b.stopAtEOS
    }
}
