import Synchronization
import Torch
import Transformers

/// A request waiting for, or running in, a generation.
struct QueuedRequest: Sendable {
    let prompt: [Int]
    let options: GenerationOptions
    let ticket: GenerationTicket
    /// Receives (sample index, text piece) while generating.
    let onText: (@Sendable (Int, String) -> Void)?
    let continuation: CheckedContinuation<[GeneratedSequence], Error>
}

/// The waiting requests of a `GenerationQueue` and the settings of its running generation,
/// behind one lock: the queue adds requests from its actor, the generation thread takes them
/// between decoding steps and answers them as they finish.
final class RequestInbox: Sendable {
    struct State {
        var waiting: [QueuedRequest] = []
        /// Settings of the running generation; nil when none runs.
        var running: GenerationOptions?
        var stopping = false
        var runs = 0
        var cancelled = 0
    }

    enum Admission {
        case queued
        /// No generation runs: the caller starts one with these settings.
        case startGeneration(GenerationOptions)
        case refused(GenerationQueue.Refusal)
    }

    let state = Mutex(State())

    var isStopping: Bool { state.withLock { $0.stopping } }

    func add(_ request: QueuedRequest, maxWaiting: Int) -> Admission {
        state.withLock { s -> Admission in
            if s.stopping { return .refused(.shuttingDown) }
            guard s.waiting.count < maxWaiting else { return .refused(.full(waiting: s.waiting.count)) }
            s.waiting.append(request)
            guard s.running == nil else { return .queued }
            s.running = request.options
            s.runs += 1
            return .startGeneration(request.options)
        }
    }

    /// Requests that join the generation running with `settings` now: in arrival order, those
    /// with its settings while the oldest waiting request has them too (a request with other
    /// settings is not overtaken for long: the generation then takes no one until it drains),
    /// up to `maxRequests` running and `freeRows` sequences (the first may exceed the rows of
    /// an idle generation). With `.static` batching, only while the generation is idle.
    func take(settings: GenerationOptions, freeRows: Int, idle: Bool, running: Int, maxRequests: Int, batching: Batching) -> [QueuedRequest]
    {
        state.withLock { s -> [QueuedRequest] in
            guard !s.stopping, idle || batching == .continuous else { return [] }
            guard let oldest = s.waiting.first(where: { !$0.ticket.isCancelled }),
                GenerationQueue.sameSettings(oldest.options, settings)
            else { return [] }
            var taken: [QueuedRequest] = []
            var rows = 0
            s.waiting.removeAll { request in
                let fits = (idle && taken.isEmpty) || rows + request.options.samplesPerPrompt <= freeRows
                guard running + taken.count < maxRequests, fits, !request.ticket.isCancelled,
                    GenerationQueue.sameSettings(request.options, settings)
                else { return false }
                taken.append(request)
                rows += request.options.samplesPerPrompt
                return true
            }
            return taken
        }
    }

    /// The running generation ended: the settings of the next one to start (the oldest
    /// waiting request's), or nil when no one waits.
    func finishGeneration() -> GenerationOptions? {
        dropCancelled()
        return state.withLock { s -> GenerationOptions? in
            s.running = s.stopping ? nil : s.waiting.first?.options
            if s.running != nil { s.runs += 1 }
            return s.running
        }
    }

    /// Answers a request that ran: its completions, or the refusal when its ticket was
    /// cancelled meanwhile.
    func answer(_ request: QueuedRequest, with outcome: Result<[GeneratedSequence], TorchError>) {
        if request.ticket.isCancelled {
            let stopping = state.withLock { s -> Bool in
                s.cancelled += 1
                return s.stopping
            }
            request.continuation.resume(throwing: stopping ? GenerationQueue.Refusal.shuttingDown : GenerationQueue.Refusal.cancelled)
            return
        }
        switch outcome {
        case .success(let completions): request.continuation.resume(returning: completions)
        case .failure(let error): request.continuation.resume(throwing: error)
        }
    }

    /// Takes waiting requests whose tickets were cancelled out, answering them.
    func dropCancelled() {
        let (gone, stopping) = state.withLock { s -> ([QueuedRequest], Bool) in
            let gone = s.waiting.filter { $0.ticket.isCancelled }
            s.waiting.removeAll { $0.ticket.isCancelled }
            s.cancelled += gone.count
            return (gone, s.stopping)
        }
        for request in gone {
            request.continuation.resume(throwing: stopping ? GenerationQueue.Refusal.shuttingDown : GenerationQueue.Refusal.cancelled)
        }
    }

    /// Refuses new requests and cancels every waiting one; the running generation sees
    /// `isStopping` at its next token and ends its requests.
    func stop() {
        let waiting = state.withLock { s -> [QueuedRequest] in
            s.stopping = true
            return s.waiting
        }
        for request in waiting { request.ticket.cancel() }
        dropCancelled()
    }
}
