import Foundation

/// Runs blocking work (a whole batch of generation: seconds to minutes inside libtorch) on a
/// thread of its own, not on Swift's cooperative pool: that pool has one thread per core,
/// and a blocked one could not answer other requests (on 2 cores, one generation and one slow
/// client would stall every handler — no 503, no health check).
public enum DedicatedThread {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
