import Foundation

/// Runs `work` over `items` on up to `width` threads of its own (not Swift's cooperative pool:
/// each item blocks on its HTTP request), returning the first error after all have stopped.
/// Several weight shards download at once this way, as huggingface_hub fetches with 8 workers.
enum ParallelFetch {
    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var next = 0
        var failure: HubError?
    }

    private struct Work: @unchecked Sendable {
        let run: (String) throws(HubError) -> Void
    }

    /// `work` escapes into the threads (which may still release it after their last item).
    static func run(_ items: [String], width: Int, _ work: @escaping (String) throws(HubError) -> Void) throws(HubError) {
        guard width > 1, items.count > 1 else {
            for item in items { try work(item) }
            return
        }
        let state = State()
        let group = DispatchGroup()
        let job = Work(run: work)
        do {
            for _ in 0..<min(width, items.count) {
                group.enter()
                Thread {
                    defer { group.leave() }
                    while true {
                        let index: Int? = state.lock.withLock {
                            guard state.failure == nil, state.next < items.count else { return nil }
                            state.next += 1
                            return state.next - 1
                        }
                        guard let index else { return }
                        do throws(HubError) { try job.run(items[index]) } catch {
                            state.lock.withLock { if state.failure == nil { state.failure = error } }
                        }
                    }
                }.start()
            }
            group.wait()
        }
        if let failure = state.failure { throw failure }
    }
}
