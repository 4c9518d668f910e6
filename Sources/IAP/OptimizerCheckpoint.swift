import FileIO
import Foundation
import IAPCore
import JSONFiles
import Torch

/// A checkpoint's optimizer state, in one of two layouts that any run can read:
///
/// - `optimizer.safetensors`: whole tensors per parameter (one process, `ddp`);
/// - `optimizer-index.json` plus `optimizer-R-of-N.safetensors` (`zero2`): each rank wrote
///   the pieces it holds; the index says which elements of which parameter each file has.
///
/// `read` puts either back into whole tensors, so a run resumes with any number of ranks
/// and either strategy.
public enum OptimizerCheckpoint {
    public static let wholeFile = "optimizer.safetensors"
    public static let indexFile = "optimizer-index.json"

    /// optimizer-index.json.
    public struct Index: Codable, Sendable, Equatable {
        public struct Piece: Codable, Sendable, Equatable {
            public var name: String
            public var start: Int
            public var end: Int
        }
        public struct Shard: Codable, Sendable, Equatable {
            public var file: String
            public var pieces: [Piece]
        }
        public var step: Int
        public var worldSize: Int
        public var shapes: [String: [Int]]
        public var shards: [Shard]

        enum CodingKeys: String, CodingKey {
            case step, shapes, shards
            case worldSize = "world_size"
        }
    }

    static func shardFile(rank: Int, of worldSize: Int) -> String {
        func five(_ n: Int) -> String { String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n) }
        return "optimizer-\(five(rank))-of-\(five(worldSize)).safetensors"
    }

    /// Every rank of a `zero2` job: writes its shard into `staging` (a folder of the run).
    static func writeShard(_ optimizer: ShardedAdamW, into staging: String) throws {
        try FileSystem.makeDirectories(staging)
        let file = staging + "/" + shardFile(rank: optimizer.group.rank, of: optimizer.group.worldSize)
        try TensorFile.save(try optimizer.shardState(), metadata: ["step": String(optimizer.stepCount)], to: file)
    }

    /// Rank 0, once every rank has written its shard: moves the shards into the checkpoint
    /// being written (`folder`) and writes the index.
    static func collectShards(_ optimizer: ShardedAdamW, from staging: String, into folder: String) throws {
        let n = optimizer.group.worldSize
        var shards: [Index.Shard] = []
        for r in 0..<n {
            let file = shardFile(rank: r, of: n)
            guard rename(staging + "/" + file, folder + "/" + file) == 0 else {
                throw ConfigError("\(staging)/\(file): rank \(r)'s optimizer shard cannot be moved into \(folder) (\(String(cString: strerror(errno))))")
            }
            shards.append(Index.Shard(file: file, pieces: optimizer.pieces(ofRank: r).map { Index.Piece(name: $0.name, start: $0.start, end: $0.end) }))
        }
        var shapes: [String: [Int]] = [:]
        for p in optimizer.parameters { shapes[p.name] = p.tensor.shape }
        try JSONFile.write(Index(step: optimizer.stepCount, worldSize: n, shapes: shapes, shards: shards), to: folder + "/" + indexFile)
        FileSystem.removeFolder(staging)
    }

    /// The folder's optimizer state as whole tensors by name, and its step count.
    public static func read(_ folder: String) throws -> (tensors: [String: Tensor], step: Int) {
        if FileSystem.exists(folder + "/" + wholeFile) || !FileSystem.exists(folder + "/" + indexFile) {
            let (tensors, metadata) = try TensorFile.load(from: folder + "/" + wholeFile)
            return (tensors, Int(metadata["step"] ?? "0") ?? 0)
        }
        let index = try JSONFile.read(Index.self, from: folder + "/" + indexFile)
        var parts: [String: [(start: Int, end: Int, tensor: Tensor)]] = [:]
        for shard in index.shards {
            let (tensors, _) = try TensorFile.load(from: folder + "/" + shard.file)
            for piece in shard.pieces {
                for prefix in ["exp_avg.", "exp_avg_sq.", "master."] {
                    guard let t = tensors[prefix + piece.name] else { continue }
                    guard t.count == piece.end - piece.start else {
                        throw ConfigError("\(folder)/\(shard.file): \(prefix)\(piece.name) has \(t.count) elements, the index says \(piece.end - piece.start)")
                    }
                    parts[prefix + piece.name, default: []].append((piece.start, piece.end, t))
                }
            }
        }
        let tensors = try joined(parts, shapes: index.shapes, folder: folder)
        // Every rank's optimizer steps every parameter (a missing gradient counts as zeros),
        // so after a step each parameter has both moments: a gap is a damaged checkpoint.
        if index.step > 0, let name = index.shapes.keys.sorted().first(where: { tensors["exp_avg." + $0] == nil || tensors["exp_avg_sq." + $0] == nil }) {
            throw ConfigError("\(folder): the optimizer shards hold no moments for \(name) after \(index.step) steps (a damaged checkpoint)")
        }
        return (tensors, index.step)
    }

    /// Whole tensors from pieces that must tile each parameter's elements without a gap.
    static func joined(_ parts: [String: [(start: Int, end: Int, tensor: Tensor)]], shapes: [String: [Int]], folder: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, pieces) in parts.sorted(by: { $0.key < $1.key }) {
            let name = String(key[key.index(after: key.firstIndex(of: ".") ?? key.startIndex)...])
            guard let shape = shapes[name] else { throw ConfigError("\(folder)/\(indexFile): no shape for \(name)") }
            let sorted = pieces.sorted { $0.start < $1.start }
            var next = 0
            for piece in sorted {
                guard piece.start == next else { throw ConfigError("\(folder): the optimizer shards leave elements \(next)..<\(piece.start) of \(key) uncovered") }
                next = piece.end
            }
            guard next == shape.reduce(1, *) else { throw ConfigError("\(folder): the optimizer shards cover \(next) of \(key)'s \(shape.reduce(1, *)) elements") }
            out[key] = try Tensor.cat(sorted.map(\.tensor)).reshape(shape)
        }
        return out
    }
}
