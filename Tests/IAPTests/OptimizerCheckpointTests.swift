import Foundation
import JSONFiles
import Testing
import Torch

@testable import IAP

/// A zero2 checkpoint's optimizer shards (written by hand here, as two ranks would write
/// them) read back as whole tensors or as the slices a rank asks for; gaps, wrong sizes and
/// missing moments are refused, naming the folder and the tensor.
@Suite struct OptimizerCheckpointTests {
    /// Parameter `a` [2, 3] split 4 + 2 over two files, `b` [2] wholly in the second.
    static func write(
        into folder: String, secondStart: Int = 4, step: Int = 3, dropMoments: Bool = false, index: OptimizerCheckpoint.Index? = nil
    ) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let first = [
            "exp_avg.a": try Tensor(Array(values[0..<4]), shape: [4]),
            "exp_avg_sq.a": try Tensor(Array(values[0..<4]).map { $0 * 10 }, shape: [4]),
        ]
        var second = ["exp_avg.a": try Tensor(Array(values[secondStart...]), shape: [6 - secondStart])]
        second["exp_avg_sq.a"] = try Tensor(Array(values[secondStart...]).map { $0 * 10 }, shape: [6 - secondStart])
        if !dropMoments { second["exp_avg.b"] = try Tensor([7, 8] as [Float], shape: [2]) }
        second["exp_avg_sq.b"] = try Tensor([70, 80] as [Float], shape: [2])
        try TensorFile.save(first, to: folder + "/optimizer-00000-of-00002.safetensors")
        try TensorFile.save(second, to: folder + "/optimizer-00001-of-00002.safetensors")
        typealias I = OptimizerCheckpoint.Index
        let written =
            index
            ?? I(
                step: step, worldSize: 2, shapes: ["a": [2, 3], "b": [2]],
                shards: [
                    I.Shard(file: "optimizer-00000-of-00002.safetensors", pieces: [I.Piece(name: "a", start: 0, end: 4)]),
                    I.Shard(
                        file: "optimizer-00001-of-00002.safetensors",
                        pieces: [I.Piece(name: "a", start: secondStart, end: 6), I.Piece(name: "b", start: 0, end: 2)]),
                ])
        try JSONFile.write(written, to: folder + "/" + OptimizerCheckpoint.indexFile)
    }

    static func folder() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("iap-shards-\(UUID().uuidString)").path }

    @Test func shardsReadBackAsWholeTensors() throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.write(into: folder)
        let (tensors, step) = try OptimizerCheckpoint.read(folder)
        #expect(step == 3)
        #expect(tensors["exp_avg.a"]?.shape == [2, 3])
        #expect(try tensors["exp_avg.a"]?.toArray(Float.self) == [1, 2, 3, 4, 5, 6])
        #expect(try tensors["exp_avg_sq.a"]?.toArray(Float.self) == [10, 20, 30, 40, 50, 60])
        #expect(try tensors["exp_avg.b"]?.toArray(Float.self) == [7, 8])
        // What a zero2 rank reads on resume: a slice across the two files' pieces.
        let state = try OptimizerCheckpoint.StateSlices(folder: folder)
        #expect(try state.slice("exp_avg_sq.a", 2..<5)?.toArray(Float.self) == [30, 40, 50])
        #expect(try state.slice("master.a", 0..<1) == nil)
    }

    @Test func gapsSizesAndMissingMomentsAreRefused() throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func refusal() -> String {
            if case .failure(let error) = Result(catching: { try OptimizerCheckpoint.read(folder) }) { return "\(error)" }
            return ""
        }
        // The second shard starts at element 5: element 4 of a is in no shard (the index says so).
        try Self.write(into: folder, secondStart: 5)
        #expect(refusal().contains("elements 4..<5 of exp_avg.a uncovered"), "\(refusal())")
        // No first moment for b after 3 steps.
        try Self.write(into: folder, dropMoments: true)
        #expect(refusal().contains("no moments for b"), "\(refusal())")
        // An index whose piece is longer than the tensor in the file.
        typealias I = OptimizerCheckpoint.Index
        let wrong = I(
            step: 3, worldSize: 2, shapes: ["a": [2, 3], "b": [2]],
            shards: [
                I.Shard(file: "optimizer-00000-of-00002.safetensors", pieces: [I.Piece(name: "a", start: 0, end: 5)]),
                I.Shard(
                    file: "optimizer-00001-of-00002.safetensors",
                    pieces: [I.Piece(name: "a", start: 5, end: 6), I.Piece(name: "b", start: 0, end: 2)]),
            ])
        try Self.write(into: folder, index: wrong)
        #expect(refusal().contains("optimizer-00000-of-00002.safetensors: exp_avg.a has 4 elements, the index says 5"), "\(refusal())")
    }
}
