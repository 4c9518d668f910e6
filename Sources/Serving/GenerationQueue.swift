import ModelFormats
import Synchronization
import Torch
import Transformers

/// Runs generation for concurrent requests one batch at a time on the model. Requests that
/// arrive while a batch runs wait; when it ends (and after a 10 ms gathering window), every
/// waiting request with the same decoding settings as the oldest one joins the next batch
/// (judges send many identical-settings requests, which then share one batched forward pass
/// per token). Seeds are per request (`generate`'s prompt seeds), so requests with different
/// seeds, or none, batch together and each samples as it would alone.
///
/// Bounded: at most `maxWaiting` requests wait (`submit` throws `.full` beyond that). A
/// request whose `GenerationTicket` is cancelled (its client went away) leaves the queue, or
/// stops generating at the next token; `shutdown()` does that to every request.
public actor GenerationQueue {
    public enum Refusal: Error, Sendable, Equatable {
        /// `maxWaiting` requests already wait.
        case full(waiting: Int)
        /// The server is stopping.
        case shuttingDown
        /// The ticket was cancelled before the generation finished.
        case cancelled
    }

    struct Job: Sendable {
        let prompt: [Int]
        let options: GenerationOptions
        let ticket: GenerationTicket
        /// Receives (sample index, text piece) while generating.
        let onText: (@Sendable (Int, String) -> Void)?
        let continuation: CheckedContinuation<[GeneratedSequence], Error>
    }

    public let model: CausalLM
    public let tokenizer: Tokenizer
    public let maxBatch: Int
    public let maxWaiting: Int
    private var waiting: [Job] = []
    private var running: [GenerationTicket] = []
    private var draining = false
    private var stopping = false
    /// Batches generated so far (requests that shared a batch count once).
    public private(set) var batchesRun = 0
    /// Requests ended because their ticket was cancelled (client gone, server stopping).
    public private(set) var cancelledRequests = 0

    public init(model: CausalLM, tokenizer: Tokenizer, maxBatch: Int = 16, maxWaiting: Int = 256) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
        self.maxWaiting = max(1, maxWaiting)
    }

    public var queued: Int { waiting.count }

    /// Generates for one prompt; returns its `options.samplesPerPrompt` completions.
    /// Cancelling `ticket` (or the calling task) ends it early with `Refusal.cancelled`.
    public func submit(
        prompt: [Int], options: GenerationOptions, ticket: GenerationTicket = GenerationTicket(),
        onText: (@Sendable (Int, String) -> Void)? = nil
    ) async throws -> [GeneratedSequence] {
        if stopping { throw Refusal.shuttingDown }
        guard waiting.count < maxWaiting else { throw Refusal.full(waiting: waiting.count) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append(Job(prompt: prompt, options: options, ticket: ticket, onText: onText, continuation: continuation))
                if !draining {
                    draining = true
                    Task { await self.drain() }
                }
            }
        } onCancel: {
            ticket.cancel()
            Task { await self.dropCancelled() }
        }
    }

    /// Ends every waiting and running request with `Refusal.shuttingDown`; later submissions
    /// are refused. Returns once the running generation has stopped (at its next token), so
    /// the process can exit without libtorch still working on another thread.
    public func shutdown() async {
        stopping = true
        for ticket in running { ticket.cancel() }
        for job in waiting { job.ticket.cancel() }
        dropCancelled()
        while draining { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    /// Takes requests whose tickets were cancelled out of the queue, answering them.
    public func dropCancelled() {
        let (gone, kept) = (waiting.filter { $0.ticket.isCancelled }, waiting.filter { !$0.ticket.isCancelled })
        waiting = kept
        cancelledRequests += gone.count
        for job in gone { job.continuation.resume(throwing: stopping ? Refusal.shuttingDown : Refusal.cancelled) }
    }

    private func drain() async {
        while !waiting.isEmpty {
            // A short gathering window: requests sent together (a judge's fan-out, clients
            // starting at once) then share a batch instead of the first one running alone.
            if waiting.count < maxBatch { try? await Task.sleep(nanoseconds: 10_000_000) }
            dropCancelled()
            guard !waiting.isEmpty else { break }
            let batch = takeBatch()
            running = batch.map(\.ticket)
            batchesRun += 1
            let outcome = await run(batch)
            running = []
            finish(batch, outcome: outcome)
        }
        draining = false
    }

    /// The oldest waiting request (whatever its size) and every other one with its settings,
    /// up to the limits.
    private func takeBatch() -> [Job] {
        let first = waiting[0]
        var batch: [Job] = []
        var rest: [Job] = []
        var sequences = 0
        for job in waiting {
            if batch.isEmpty
                || (GenerationQueue.sameSettings(job.options, first.options) && sequences + job.options.samplesPerPrompt <= maxBatch * 4
                    && batch.count < maxBatch)
            {
                batch.append(job)
                sequences += job.options.samplesPerPrompt
            } else {
                rest.append(job)
            }
        }
        waiting = rest
        return batch
    }

    /// The forward passes run off this actor (so new requests can queue meanwhile) and off the
    /// cooperative pool (so handlers keep running).
    private func run(_ batch: [Job]) async -> Result<[GeneratedSequence], TorchError> {
        let (model, tokenizer) = (self.model, self.tokenizer)
        let prompts = batch.map(\.prompt)
        let seeds = batch.map(\.options.seed)
        let tickets = batch.map(\.ticket)
        let callbacks = batch.map(\.onText)
        let options = batch[0].options
        return await DedicatedThread.run { @Sendable () -> Result<[GeneratedSequence], TorchError> in
            let samples = options.samplesPerPrompt
            do throws(TorchError) {
                let out = try model.generate(
                    prompts: prompts, tokenizer: tokenizer, options: options, promptSeeds: seeds,
                    abandoned: AbandonCheck { tickets[$0].isCancelled }
                ) { index, piece in
                    callbacks[index / samples]?(index % samples, piece)
                }
                return .success(out)
            } catch {
                return .failure(error)
            }
        }
    }

    private func finish(_ batch: [Job], outcome: Result<[GeneratedSequence], TorchError>) {
        let samples = batch[0].options.samplesPerPrompt
        for (j, job) in batch.enumerated() {
            if job.ticket.isCancelled {
                cancelledRequests += 1
                job.continuation.resume(throwing: stopping ? Refusal.shuttingDown : Refusal.cancelled)
                continue
            }
            switch outcome {
            case .success(let out): job.continuation.resume(returning: Array(out[(j * samples)..<((j + 1) * samples)]))
            case .failure(let error): job.continuation.resume(throwing: error)
            }
        }
    }

    /// Requests that may share a batch: everything but the seed must agree.
    static func sameSettings(_ a: GenerationOptions, _ b: GenerationOptions) -> Bool {
        a.maxNewTokens == b.maxNewTokens && a.temperature == b.temperature && a.topP == b.topP && a.topK == b.topK
            && a.greedy == b.greedy && a.samplesPerPrompt == b.samplesPerPrompt && a.stopStrings == b.stopStrings
            && a.stopTokenIds == b.stopTokenIds && a.stopAtEOS == b.stopAtEOS && a.scaffold == b.scaffold
    }
}

/// Whether anyone still waits for a request's completions: cancelled when its client goes
/// away (a failed write, a cancelled task) or the server stops. Read by the generation loop
/// on another thread every token, hence atomic.
public final class GenerationTicket: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    public func cancel() { cancelled.store(true, ordering: .releasing) }
}
