import Foundation
import Testing

@testable import Torch

extension TorchSuite {
    /// ZeRO-2's optimizer against the one it shards: ranks (threads, each its own Gloo group
    /// on 127.0.0.1) that reduce-scatter their gradients, clip by the global norm and update
    /// their shards end with the weights one AdamW reaches from the summed gradients; the
    /// pieces of state they hold put back together are that AdamW's state, and one AdamW's
    /// state loaded into three ranks continues as it does.
    @Suite struct ShardedAdamWTests {
        /// Four parameters (three float32, one bfloat16); small buckets so the layout has
        /// several, split by dtype, padded unevenly, one holding two parameters that straddle
        /// a shard boundary.
        static func parameters() throws -> [AdamW.Parameter] {
            func values(_ n: Int, _ phase: Double) -> [Float] { (0..<n).map { Float(sin(Double($0) * 0.37 + phase)) } }
            return [
                AdamW.Parameter(name: "w", tensor: try Tensor(values(15, 0), shape: [5, 3])),
                AdamW.Parameter(name: "b", tensor: try Tensor(values(7, 1), shape: [7])),
                AdamW.Parameter(name: "h", tensor: try Tensor(values(16, 2), shape: [4, 4]).to(.bfloat16)),
                AdamW.Parameter(name: "s", tensor: try Tensor(values(3, 3), shape: [3])),
                AdamW.Parameter(name: "t", tensor: try Tensor(values(5, 4), shape: [5])),
            ]
        }

        /// Rank `rank`'s gradient for parameter `i` at `step`: multiples of 1/8 below 4, so
        /// their sums are exact in bfloat16 too (the one AdamW sees bfloat16 sums).
        static func gradient(_ p: Tensor, _ i: Int, rank: Int, step: Int) throws -> Tensor {
            let g = (0..<p.count).map { k in
                Float((8 * cos(Double(k * (i + 2)) + Double(rank) * 0.9 + Double(step)) * Double(rank + 1)).rounded() / 8)
            }
            return try Tensor(g, shape: p.shape).to(p.dtype)
        }

        static func rule() -> AdamW { AdamW(parameters: [], learningRate: 0.05, weightDecay: 0.1) }

        /// The reference: one AdamW on the gradients summed over `ranks`.
        static func reference(steps: Int, ranks: Int) throws -> (weights: [[Float]], state: [String: Tensor]) {
            let params = try parameters()
            let adamW = AdamW(parameters: params, learningRate: 0.05, weightDecay: 0.1)
            for step in 0..<steps {
                for (i, p) in params.enumerated() {
                    var sum = try gradient(p.tensor, i, rank: 0, step: step).to(.float32)
                    for r in 1..<ranks { sum = try sum + gradient(p.tensor, i, rank: r, step: step).to(.float32) }
                    try p.tensor.setGrad(try sum.to(p.tensor.dtype))
                }
                _ = try clipGradientNorm(params.map(\.tensor), maxNorm: 2)
                try adamW.step()
            }
            return (try params.map { try $0.tensor.to(.float32).toArray(Float.self) }, adamW.stateTensors().tensors)
        }

        /// `steps` sharded steps on `ranks` threads (after loading `state` when given).
        static func sharded(steps: Int, firstStep: Int = 0, ranks: Int, state: [String: Tensor]? = nil) throws
            -> [(weights: [[Float]], pieces: [(name: String, start: Int, end: Int)], shard: [String: [Float]])]
        {
            let port = try Rendezvous.freeLocalPort()
            let sendable = state.map { SendableState($0) }
            return try ProcessGroupTests.ranks(ranks) { rank in
                let group = try ProcessGroup(
                    gloo: Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: ranks, localRank: rank), timeoutSeconds: 60,
                    bindHost: "127.0.0.1")
                let params = try parameters()
                let optimizer = ShardedAdamW(parameters: params, group: group, rule: rule(), bucketElements: 10)
                if let sendable {
                    try optimizer.loadState(tensors: sendable.tensors, step: firstStep)
                    for p in params where p.name != "h" { try p.tensor.copy_(try sendable.tensors["weight." + p.name]!.to(p.tensor.dtype)) }
                    try params[2].tensor.copy_(try sendable.tensors["weight.h"]!.to(.bfloat16))
                }
                for step in firstStep..<(firstStep + steps) {
                    for (i, p) in params.enumerated() { try p.tensor.setGrad(try gradient(p.tensor, i, rank: rank, step: step)) }
                    try optimizer.reduceGradients()
                    _ = try optimizer.clipGradientNorm(maxNorm: 2)
                    try optimizer.step()
                }
                let shard = try optimizer.shardState().mapValues { try $0.to(.float32).toArray(Float.self) }
                return (try params.map { try $0.tensor.to(.float32).toArray(Float.self) }, optimizer.pieces(ofRank: rank), shard)
            }.map { try $0.get() }
        }

        struct SendableState: @unchecked Sendable {
            let tensors: [String: Tensor]
            init(_ t: [String: Tensor]) { tensors = t }
        }

        static func close(_ a: [Float], _ b: [Float], _ tolerance: Float) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
        }

        @Test(.enabled(if: ProcessGroup.glooAvailable)) func shardsStepAsOneAdamW() throws {
            let expected = try Self.reference(steps: 3, ranks: 2)
            let ranks = try Self.sharded(steps: 3, ranks: 2)
            for rank in ranks {
                #expect(Self.close(rank.weights[0], expected.weights[0], 1e-6))
                #expect(Self.close(rank.weights[1], expected.weights[1], 1e-6))
                #expect(Self.close(rank.weights[2], expected.weights[2], 1e-2))  // bfloat16 weights (float32 masters)
                #expect(Self.close(rank.weights[3], expected.weights[3], 1e-6) && Self.close(rank.weights[4], expected.weights[4], 1e-6))
            }
            // The pieces of every rank tile each parameter's state; put together they are AdamW's.
            for key in ["exp_avg.w", "exp_avg_sq.b", "master.h", "exp_avg.h", "exp_avg.s", "exp_avg_sq.t"] {
                let name = String(key.split(separator: ".")[1])
                var joined: [(Int, [Float])] = []
                for rank in ranks {
                    for piece in rank.pieces where piece.name == name { joined.append((piece.start, rank.shard[key] ?? [])) }
                }
                let whole = joined.sorted { $0.0 < $1.0 }.flatMap(\.1)
                // The one AdamW clips bfloat16 gradients in bfloat16; the shards are float32.
                let tolerance: Float = name == "h" ? 1e-2 : 1e-5
                #expect(Self.close(whole, try expected.state[key]!.to(.float32).toArray(Float.self), tolerance), "\(key)")
            }
            #expect(ranks[0].shard["master.w"] == nil)  // float32 parameters need no master copy
        }

        @Test(.enabled(if: ProcessGroup.glooAvailable)) func aCheckpointResumesOnAnotherNumberOfRanks() throws {
            // Two steps on one AdamW, its state loaded into 3 ranks for a third step: the
            // weights reached are those of three uninterrupted steps. (Rank 1's shard of the
            // [s, t] bucket starts inside t: s lies wholly before it.)
            let params = try Self.parameters()
            let adamW = AdamW(parameters: params, learningRate: 0.05, weightDecay: 0.1)
            let expected = try Self.reference(steps: 3, ranks: 3)
            for step in 0..<2 {
                for (i, p) in params.enumerated() {
                    var sum = try Self.gradient(p.tensor, i, rank: 0, step: step).to(.float32)
                    for r in 1..<3 { sum = try sum + Self.gradient(p.tensor, i, rank: r, step: step).to(.float32) }
                    try p.tensor.setGrad(try sum.to(p.tensor.dtype))
                }
                _ = try clipGradientNorm(params.map(\.tensor), maxNorm: 2)
                try adamW.step()
            }
            var state = adamW.stateTensors().tensors
            for p in params { state["weight." + p.name] = p.tensor }
            let resumed = try Self.sharded(steps: 1, firstStep: 2, ranks: 3, state: state)
            for rank in resumed {
                #expect(Self.close(rank.weights[0], expected.weights[0], 1e-6))
                #expect(Self.close(rank.weights[1], expected.weights[1], 1e-6))
                #expect(Self.close(rank.weights[2], expected.weights[2], 1e-2))
                #expect(Self.close(rank.weights[3], expected.weights[3], 1e-6) && Self.close(rank.weights[4], expected.weights[4], 1e-6))
            }
        }

        /// FSDP: the weights sharded too (units of parameters, each gathered, given its
        /// gradient in two halves reduced as they come, and freed): 2 ranks × 3 steps end where
        /// one AdamW on the summed gradients does, and the weights are empty between uses.
        @Test(.enabled(if: ProcessGroup.glooAvailable)) func shardedWeightsStepAsOneAdamW() throws {
            let expected = try Self.reference(steps: 3, ranks: 2)
            let port = try Rendezvous.freeLocalPort()
            let ranks = try ProcessGroupTests.ranks(2) { rank in
                let group = try ProcessGroup(
                    gloo: Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: 2, localRank: rank), timeoutSeconds: 60,
                    bindHost: "127.0.0.1")
                let params = try Self.parameters()
                let optimizer = try ShardedAdamW(parameters: params, group: group, rule: Self.rule(), units: [[0, 1], [2], [3, 4]])
                var emptyBetweenUses = optimizer.residentElements == 0 && params.allSatisfy { $0.tensor.count == 0 }
                for step in 0..<3 {
                    for unit in 0..<optimizer.unitCount {
                        try optimizer.gather(unit: unit)
                        for _ in 0..<2 {
                            for (i, p) in params.enumerated() where p.tensor.count > 0 {
                                try p.tensor.setGrad(try (Self.gradient(p.tensor, i, rank: rank, step: step) * 0.5).to(p.tensor.dtype))
                            }
                            try optimizer.reduceGradients(unit: unit)
                        }
                        try optimizer.release(unit: unit)
                    }
                    emptyBetweenUses = emptyBetweenUses && params.allSatisfy { $0.tensor.count == 0 }
                    _ = try optimizer.clipGradientNorm(maxNorm: 2)
                    try optimizer.step()
                }
                try optimizer.gatherAll()
                return (try params.map { try $0.tensor.to(.float32).toArray(Float.self) }, emptyBetweenUses, optimizer.stateBytes)
            }.map { try $0.get() }
            for (weights, empty, stateBytes) in ranks {
                #expect(empty)
                #expect(Self.close(weights[0], expected.weights[0], 1e-6) && Self.close(weights[1], expected.weights[1], 1e-6))
                #expect(Self.close(weights[2], expected.weights[2], 1e-2))  // bfloat16 weights (float32 masters)
                #expect(Self.close(weights[3], expected.weights[3], 1e-6) && Self.close(weights[4], expected.weights[4], 1e-6))
                // Masters and both moments for half of the 46 elements (units padded to even).
                #expect(stateBytes == 3 * 4 * (11 + 8 + 4))
            }
        }
    }
}
