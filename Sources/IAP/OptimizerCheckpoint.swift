import FileIO
import Foundation
import IAPCore
import JSONFiles
import SafeTensors
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
                throw ConfigError(
                    "\(staging)/\(file): rank \(r)'s optimizer shard cannot be moved into \(folder) (\(String(cString: strerror(errno))))")
            }
            shards.append(
                Index.Shard(
                    file: file, pieces: optimizer.pieces(ofRank: r).map { Index.Piece(name: $0.name, start: $0.start, end: $0.end) }))
        }
        var shapes: [String: [Int]] = [:]
        for p in optimizer.parameters { shapes[p.name] = p.tensor.shape }
        try JSONFile.write(Index(step: optimizer.stepCount, worldSize: n, shapes: shapes, shards: shards), to: folder + "/" + indexFile)
        FileSystem.removeFolder(staging)
    }

    /// The folder's optimizer state as whole tensors by name, and its step count.
    public static func read(_ folder: String) throws -> (tensors: [String: Tensor], step: Int) {
        let state = try StateSlices(folder: folder)
        var tensors: [String: Tensor] = [:]
        for (key, shape) in state.shapes {
            tensors[key] = try state.slice(key, 0..<shape.reduce(1, *))?.reshape(shape)
        }
        return (tensors, state.step)
    }

    /// A checkpoint's optimizer files, mapped: slices of the whole state by key
    /// ("exp_avg.NAME", …) without reading the rest — what a zero2 rank asks for on resume.
    /// Either layout: a whole file is one piece per tensor. Opening checks that the pieces
    /// tile every tensor and, after a step, that every parameter has both moments.
    public final class StateSlices {
        struct Piece {
            let start: Int
            let end: Int
            let file: Int
        }
        public let step: Int
        /// Each key's whole shape.
        public let shapes: [String: [Int]]
        let files: [SafeTensorsFile]
        let pieces: [String: [Piece]]

        public init(folder: String) throws {
            if FileSystem.exists(folder + "/" + wholeFile) || !FileSystem.exists(folder + "/" + indexFile) {
                let file = try SafeTensorsFile(path: folder + "/" + wholeFile)
                files = [file]
                step = Int(file.metadata["step"] ?? "0") ?? 0
                shapes = Dictionary(file.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
                pieces = shapes.mapValues { [Piece(start: 0, end: $0.reduce(1, *), file: 0)] }
                return
            }
            let index = try JSONFile.read(Index.self, from: folder + "/" + indexFile)
            files = try index.shards.map { try SafeTensorsFile(path: folder + "/" + $0.file) }
            var pieces: [String: [Piece]] = [:]
            var shapes: [String: [Int]] = [:]
            for (f, shard) in index.shards.enumerated() {
                for piece in shard.pieces {
                    for prefix in ["exp_avg.", "exp_avg_sq.", "master."] {
                        guard let entry = files[f].entry(prefix + piece.name) else { continue }
                        guard entry.shape.reduce(1, *) == piece.end - piece.start else {
                            throw ConfigError(
                                "\(folder)/\(shard.file): \(prefix)\(piece.name) has \(entry.shape.reduce(1, *)) elements, the index says \(piece.end - piece.start)"
                            )
                        }
                        pieces[prefix + piece.name, default: []].append(Piece(start: piece.start, end: piece.end, file: f))
                        shapes[prefix + piece.name] = index.shapes[piece.name]
                    }
                }
            }
            self.step = index.step
            self.shapes = shapes
            self.pieces = pieces.mapValues { $0.sorted { $0.start < $1.start } }
            try checkTiling(folder: folder, names: index.shapes)
        }

        /// Every key's pieces cover its elements without a gap; after a step every
        /// parameter has both moments (every rank steps every parameter).
        func checkTiling(folder: String, names: [String: [Int]]) throws {
            for key in pieces.keys.sorted() {
                guard let shape = shapes[key] else { throw ConfigError("\(folder)/\(indexFile): no shape for \(key)") }
                var next = 0
                for piece in pieces[key] ?? [] {
                    guard piece.start == next else {
                        throw ConfigError("\(folder): the optimizer shards leave elements \(next)..<\(piece.start) of \(key) uncovered")
                    }
                    next = piece.end
                }
                guard next == shape.reduce(1, *) else {
                    throw ConfigError("\(folder): the optimizer shards cover \(next) of \(key)'s \(shape.reduce(1, *)) elements")
                }
            }
            if step > 0,
                let name = names.keys.sorted().first(where: { pieces["exp_avg." + $0] == nil || pieces["exp_avg_sq." + $0] == nil })
            {
                throw ConfigError("\(folder): the optimizer shards hold no moments for \(name) after \(step) steps (a damaged checkpoint)")
            }
        }

        /// Refuses state whose sizes are not the parameters' (another model's checkpoint).
        public func check(against parameters: [AdamW.Parameter], folder: String) throws {
            for p in parameters {
                for prefix in ["exp_avg.", "exp_avg_sq.", "master."] {
                    guard let shape = shapes[prefix + p.name], shape.reduce(1, *) != p.tensor.count else { continue }
                    throw ConfigError("\(folder): optimizer state \(prefix)\(p.name) has shape \(shape), the parameter \(p.tensor.shape)")
                }
            }
        }

        /// Elements `range` of the flattened whole `key`, as a 1-D CPU tensor; nil when the
        /// checkpoint has no such state.
        public func slice(_ key: String, _ range: Range<Int>) throws(TorchError) -> Tensor? {
            guard let list = pieces[key] else { return nil }
            var parts: [Tensor] = []
            for piece in list where piece.start < range.upperBound && piece.end > range.lowerBound {
                let file = files[piece.file]
                guard let entry = file.entry(key), let dtype = DType(safetensorsName: entry.dtype) else {
                    throw TorchError(operation: "optimizer state", message: "\(file.path): \(key) has an unsupported dtype")
                }
                let (low, high) = (max(range.lowerBound, piece.start) - piece.start, min(range.upperBound, piece.end) - piece.start)
                let bytes = file.bytes(of: entry)
                parts.append(
                    try Tensor(
                        bytes: UnsafeRawBufferPointer(rebasing: bytes[(low * dtype.byteSize)..<(high * dtype.byteSize)]), dtype: dtype,
                        shape: [high - low]))
            }
            return parts.count == 1 ? parts[0] : try Tensor.cat(parts)
        }
    }
}
