import Foundation
import Synchronization
import Testing

@testable import Torch

extension TorchSuite {
    /// Gloo process groups: two ranks (threads of this process, each its own group over
    /// TCP on 127.0.0.1) run every collective against values worked out by hand; a rank that
    /// never joins makes the other fail within the timeout; torchrun's variables parse.
    @Suite struct ProcessGroupTests {
        /// Runs `body(rank)` on `world` threads at once; returns each rank's result or error.
        static func ranks<T: Sendable>(_ world: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
            runLocalThreadRanks(world, body)
        }

        @Test(.enabled(if: ProcessGroup.glooAvailable)) func collectivesCombineTwoRanks() throws {
            let port = try Rendezvous.freeLocalPort()
            let results = Self.ranks(2) { rank -> [[Float]] in
                let group = try ProcessGroup(
                    gloo: Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: 2, localRank: rank), timeoutSeconds: 60,
                    bindHost: "127.0.0.1")
                let r = Float(rank)
                let summed = try Tensor([1 + r, 10 * r, -r], shape: [3])
                try group.allReduce(summed)
                let largest = try Tensor([r, 5 - r], shape: [2])
                try group.allReduce(largest, .max)
                let gathered = try group.allGather(try Tensor([r, r + 0.5], shape: [2]))
                #expect(gathered.shape == [2, 2])
                // Rank r contributes [r·4 … r·4+3]; the sum is split in halves by rank.
                let part = try group.reduceScatter(try Tensor((0..<4).map { Float($0) + 4 * r }, shape: [4]))
                let broadcast = try Tensor([r + 7], shape: [1])
                try group.broadcast(broadcast, from: 1)
                let bytes = try group.allGatherBytes(rank == 0 ? [1, 2, 3] : [9])
                try group.barrier()
                return [
                    try summed.toArray(), try largest.toArray(), try gathered.toArray(), try part.toArray(), try broadcast.toArray(),
                    bytes.flatMap { $0.map(Float.init) + [-1] },
                ]
            }
            for (rank, result) in results.enumerated() {
                let values = try result.get()
                #expect(values[0] == [3, 10, -1])
                #expect(values[1] == [1, 5])
                #expect(values[2] == [0, 0.5, 1, 1.5])
                #expect(values[3] == (rank == 0 ? [4, 6] : [8, 10]))
                #expect(values[4] == [8])
                #expect(values[5] == [1, 2, 3, -1, 9, -1])
            }
        }

        @Test(.enabled(if: ProcessGroup.glooAvailable)) func aMissingRankFailsWithinTheTimeout() throws {
            let port = try Rendezvous.freeLocalPort()
            let started = Date()
            #expect(throws: TorchError.self) {
                _ = try ProcessGroup(
                    gloo: Rendezvous(host: "127.0.0.1", port: port, rank: 0, worldSize: 2, localRank: 0), timeoutSeconds: 2,
                    bindHost: "127.0.0.1")
            }
            #expect(Date().timeIntervalSince(started) < 30)
        }

        @Test func torchrunVariablesParse() throws {
            #expect(try Rendezvous.fromEnvironment([:]) == nil)
            let env = ["WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "29500"]
            let parsed = try #require(try Rendezvous.fromEnvironment(env))
            #expect(parsed == Rendezvous(host: "node0", port: 29500, rank: 3, worldSize: 4, localRank: 1))
            #expect(parsed.environment(rank: 3, localRank: 1) == env)
            for (key, value, named) in [
                ("RANK", "4", "RANK=4"), ("MASTER_PORT", "x", "MASTER_PORT=x"), ("WORLD_SIZE", "0", "WORLD_SIZE=0"),
            ] {
                var bad = env
                bad[key] = value
                #expect(throws: TorchError.self) { try Rendezvous.fromEnvironment(bad) }
                do { _ = try Rendezvous.fromEnvironment(bad) } catch { #expect(error.message.contains(named)) }
            }
            var noAddress = env
            noAddress["MASTER_ADDR"] = nil
            do { _ = try Rendezvous.fromEnvironment(noAddress) } catch { #expect(error.message.contains("MASTER_ADDR")) }
        }
    }
}
