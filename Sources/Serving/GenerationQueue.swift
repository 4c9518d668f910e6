import ModelFormats
import Synchronization
import Torch
import Transformers

/// Runs generation for concurrent requests on the model, batched. With `.continuous`
/// batching (the default) a request joins the running generation as soon as there is room
/// (at most `maxBatch` requests and `4 · maxBatch` sequences at once) and is answered as soon
/// as its own completions end; with `.static` it waits until the whole running batch has
/// finished. Requests share a generation when their decoding settings agree except for the
/// seed and max_tokens (judges send many identical-settings requests, which then share one batched forward
/// pass per token); seeds are per request (`generate`'s prompt seeds), so each samples as it
/// would alone. A new generation starts after a 10 ms gathering window, so requests sent
/// together share its first prefill.
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

    public let model: CausalLM
    public let tokenizer: Tokenizer
    public let maxBatch: Int
    public let maxWaiting: Int
    public let batching: Batching
    /// Prompts remembered for prefix reuse over the queue's life (the weights never change
    /// under a server); nil when off.
    public nonisolated let prefixes: PromptPrefixCache?
    /// Waiting requests and the running generation's settings, shared with the generation
    /// thread (which takes requests from it between decoding steps).
    let inbox = RequestInbox()

    public init(
        model: CausalLM, tokenizer: Tokenizer, maxBatch: Int = 16, maxWaiting: Int = 256, batching: Batching = .continuous,
        prefixCacheBytes: Int = 0
    ) {
        self.prefixes = prefixCacheBytes > 0 ? PromptPrefixCache(budgetBytes: prefixCacheBytes) : nil
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
        self.maxWaiting = max(1, maxWaiting)
        self.batching = batching
    }

    /// Requests waiting for room in a generation.
    public var queued: Int { inbox.state.withLock { $0.waiting.count } }
    /// Generations run so far (requests that shared one count once).
    public var batchesRun: Int { inbox.state.withLock { $0.runs } }
    /// Requests ended because their ticket was cancelled (client gone, server stopping).
    public var cancelledRequests: Int { inbox.state.withLock { $0.cancelled } }

    /// Generates for one prompt; returns its `options.samplesPerPrompt` completions.
    /// Cancelling `ticket` (or the calling task) ends it early with `Refusal.cancelled`.
    public func submit(
        prompt: [Int], options: GenerationOptions, ticket: GenerationTicket = GenerationTicket(),
        onText: (@Sendable (Int, String) -> Void)? = nil
    ) async throws -> [GeneratedSequence] {
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let job = QueuedRequest(prompt: prompt, options: options, ticket: ticket, onText: onText, continuation: continuation)
                switch inbox.add(job, maxWaiting: maxWaiting) {
                case .refused(let refusal): continuation.resume(throwing: refusal)
                case .queued: break
                case .startGeneration(let settings): Task { await self.generate(settings) }
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
        inbox.stop()
        while inbox.state.withLock({ $0.running != nil }) { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    /// Takes requests whose tickets were cancelled out of the queue, answering them.
    public func dropCancelled() { inbox.dropCancelled() }

    /// Runs generations until no request waits: each takes the requests with `settings`
    /// while it runs; requests with other settings get the next one.
    private func generate(_ settings: GenerationOptions) async {
        var next: GenerationOptions? = settings
        while let settings = next {
            if queued < maxBatch { try? await Task.sleep(nanoseconds: 10_000_000) }  // the gathering window
            let run = GenerationRunner(
                model: model, tokenizer: tokenizer, inbox: inbox, settings: settings, maxBatch: maxBatch, batching: batching,
                prefixes: prefixes)
            await DedicatedThread.run { @Sendable in run.run() }
            next = inbox.finishGeneration()
        }
    }

    /// Requests that may share a batch: everything but the seed and the token limit must agree.
    static func sameSettings(_ a: GenerationOptions, _ b: GenerationOptions) -> Bool {
        a.temperature == b.temperature && a.topP == b.topP && a.topK == b.topK
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
