import Foundation
import Synchronization

/// Runs `body(rank)` for ranks 0..<`world` on as many threads of this process at once, and
/// returns each rank's result or error in rank order. Each rank makes its own process group
/// (Gloo over 127.0.0.1 on a port from `Rendezvous.freeLocalPort()`): how tests and
/// benchmarks run a data-parallel job without launching processes.
public func runLocalThreadRanks<T: Sendable>(_ world: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
    let results = Mutex<[Int: Result<T, any Error>]>([:])
    let done = DispatchGroup()
    for rank in 0..<world {
        done.enter()
        Thread.detachNewThread {
            let result = Result { try body(rank) }
            results.withLock { $0[rank] = result }
            done.leave()
        }
    }
    done.wait()
    return results.withLock { r in (0..<world).map { r[$0] ?? .failure(LocalThreadRanksLost(rank: $0)) } }
}

/// A rank thread that finished without reporting (cannot happen unless the thread died).
struct LocalThreadRanksLost: Error, CustomStringConvertible {
    let rank: Int
    var description: String { "rank \(rank) returned nothing" }
}
