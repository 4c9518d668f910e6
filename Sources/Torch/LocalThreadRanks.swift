#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// Runs `body(rank)` for ranks 0..<`world` on as many threads of this process at once, and
/// returns each rank's result or error in rank order. Each rank makes its own process group
/// (Gloo over 127.0.0.1 on a port from `Rendezvous.freeLocalPort()`): how tests and
/// benchmarks run a data-parallel job without launching processes. Plain POSIX threads, one
/// per rank (a bounded pool could leave a rank waiting for a thread while the others wait
/// for it in a collective); no Foundation, which would grow every binary linking Torch.
public func runLocalThreadRanks<T: Sendable>(_ world: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
    let results = Mutex<[Int: Result<T, any Error>]>([:])
    var threads: [pthread_t] = []
    for rank in 0..<world {
        let job = RankThread {
            let result = Result { try body(rank) }  // (outside the lock: the ranks run at once)
            results.withLock { $0[rank] = result }
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(job).toOpaque()
        let started = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                Unmanaged<RankThread>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, context)
        if started == 0 {
            threads.append(thread)
        } else {
            Unmanaged<RankThread>.fromOpaque(context).release()
            results.withLock { $0[rank] = .failure(LocalThreadRanksLost(rank: rank, reason: "no thread (pthread_create: \(started))")) }
        }
    }
    for thread in threads { pthread_join(thread, nil) }
    return results.withLock { r in (0..<world).map { r[$0] ?? .failure(LocalThreadRanksLost(rank: $0, reason: "returned nothing")) } }
}

/// One rank's work, handed to its thread.
private final class RankThread: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A rank that could not run or did not report.
struct LocalThreadRanksLost: Error, CustomStringConvertible {
    let rank: Int
    let reason: String
    var description: String { "rank \(rank): \(reason)" }
}
