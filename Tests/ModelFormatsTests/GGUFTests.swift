import Foundation
import ModelStore
import Testing

@testable import ModelFormats

/// Fixtures written by scripts/fixtures/make_gguf_fixtures.py (gguf-py as the reference).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/gguf")

func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-gguf-\(UUID().uuidString).gguf").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite struct GGUFTests {
    @Test func readsEveryMetadataValueType() throws {
        let file = try GGUFFile(path: fixtures.appendingPathComponent("quant-types.gguf").path)
        #expect(file.version == 3)
        #expect(file["general.architecture"] == .string("llama"))
        #expect(file["test.u8"] == .uint(200))
        #expect(file["test.i8"] == .int(-5))
        #expect(file["test.u16"] == .uint(60000))
        #expect(file["test.i16"] == .int(-30000))
        #expect(file["test.u32"] == .uint(4_000_000_000))
        #expect(file["test.i32"] == .int(-2_000_000_000))
        #expect(file["test.f32"] == .float(0.25))
        #expect(file["test.bool"] == .bool(true))
        #expect(file["test.string"] == .string("héllo ✓"))
        #expect(file["test.array"] == .array([.int(1), .int(2), .int(3)]))
        #expect(file["test.strings"] == .array([.string("a"), .string("bc")]))
        #expect(file["test.u64"] == .uint(18_000_000_000_000_000_000))
        #expect(file["test.i64"] == .int(-9_000_000_000_000_000_000))
        #expect(file["test.f64"] == .float(-1.5e300))
    }

    @Test func dequantizesEverySupportedTypeLikeTheReference() throws {
        let file = try GGUFFile(path: fixtures.appendingPathComponent("quant-types.gguf").path)
        let expected = try JSONDecoder().decode(
            [String: [Float]].self, from: Data(contentsOf: fixtures.appendingPathComponent("quant-types.expected.json")))
        #expect(Set(expected.keys) == ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q4_k", "q6_k"])
        for (name, reference) in expected {
            let tensor = try #require(file.tensor(name), "\(name)")
            #expect(tensor.shape == [2, 256], "\(name)")
            let values = try file.dequantize(tensor)
            let error = zip(values, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(values.count == reference.count && error <= 1e-6, "\(name): max error \(error)")
        }
    }

    struct RealTensor: Decodable {
        let type: String
        let shape: [Int]
        let sum: Double
        let sum_squares: Double
        let first: [Double]
        let sample_indices: [Int]
        let sample_values: [Double]
    }

    struct RealSummary: Decodable {
        let tensor_count: Int
        let tensors: [String: RealTensor]
    }

    @Test func readsTheEmbeddedSmolLM2File() throws {
        let path = try ModelStore().resolve("smollm2-135m-instruct", pull: false).path
        let file = try GGUFFile(path: path)
        let summary = try JSONDecoder().decode(
            RealSummary.self, from: Data(contentsOf: fixtures.appendingPathComponent("smollm2-dequant.json")))
        #expect(file.tensors.count == summary.tensor_count)
        #expect(file.metadata.count == 33)
        #expect(file["llama.block_count"]?.intValue == 30)
        #expect(file["llama.embedding_length"]?.intValue == 576)
        #expect(file["tokenizer.ggml.tokens"]?.arrayValue?.count == 49152)
        #expect(file["tokenizer.ggml.merges"]?.arrayValue?.count == 48900)
        #expect(file.tensor("output.weight") == nil, "the LM head is tied")
        for (name, reference) in summary.tensors {
            let tensor = try #require(file.tensor(name))
            #expect(tensor.shape == reference.shape, "\(name)")
            #expect("\(tensor.type)".uppercased() == reference.type.uppercased(), "\(name)")
            let values = try file.dequantize(tensor)
            for (i, v) in reference.first.enumerated() { #expect(abs(Double(values[i]) - v) <= 1e-6, "\(name)[\(i)]") }
            for (i, v) in zip(reference.sample_indices, reference.sample_values) {
                #expect(abs(Double(values[i]) - v) <= 1e-6, "\(name)[\(i)]")
            }
            let sum = values.reduce(0.0) { $0 + Double($1) }
            let squares = values.reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(sum - reference.sum) <= 1e-6 * max(1, abs(reference.sum)) + 1e-3, "\(name) sum")
            #expect(abs(squares - reference.sum_squares) <= 1e-6 * reference.sum_squares, "\(name) sum of squares")
        }
    }

    /// Truncations, byte flips and hostile counts: an error or a consistent file, never a
    /// crash, a hang or a read past the end.
    @Test func mutatedFilesNeverCrash() throws {
        let valid = Array(try Data(contentsOf: fixtures.appendingPathComponent("quant-types.gguf")))
        var mutants: [[UInt8]] = stride(from: 0, to: valid.count, by: 7).map { Array(valid[0..<$0]) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var copy = valid
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                // Bias flips towards the header and metadata, where the structure lives.
                let i = Int.random(in: 0..<min(copy.count, 1200), using: &generator)
                copy[i] = UInt8.random(in: 0...255, using: &generator)
            }
            mutants.append(copy)
        }
        // Huge tensor and metadata counts right after the magic and version.
        for count: UInt64 in [UInt64.max, 1 << 40, 1 << 20] {
            var copy = valid
            withUnsafeBytes(of: count.littleEndian) { copy.replaceSubrange(8..<16, with: $0) }
            mutants.append(copy)
            copy = valid
            withUnsafeBytes(of: count.littleEndian) { copy.replaceSubrange(16..<24, with: $0) }
            mutants.append(copy)
        }
        var rejected = 0
        for mutant in mutants {
            let path = try temporaryFile(mutant)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                let file = try GGUFFile(path: path)
                for tensor in file.tensors where tensor.type.canDequantize {
                    #expect(try file.dequantize(tensor).count == tensor.elementCount)
                }
            } catch {
                #expect(error.path == path)
                rejected += 1
            }
        }
        #expect(rejected >= valid.count / 7)
    }

    @Test func namesWhatIsWrong() throws {
        func reason(_ bytes: [UInt8]) throws -> String {
            let path = try temporaryFile(bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try GGUFFile(path: path)
                return "accepted"
            } catch {
                return error.reason
            }
        }
        #expect(try reason(Array("GGML".utf8) + [3, 0, 0, 0]).contains("bad magic"))
        #expect(try reason(Array("GGUF".utf8) + [1, 0, 0, 0]).contains("version 1"))
        #expect(try reason(Array("GGUF".utf8) + [3, 0, 0, 0, 1]).contains("truncated"))
        let empty = Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16)
        #expect(try reason(empty) == "accepted")

        // Two 64-value tensors, F32 (256 bytes each, one after the other): as written, then
        // with a type or an offset changed in the header.
        func file(types: (UInt32, UInt32), offsets: (UInt64, UInt64), data: Int = 512) -> [UInt8] {
            func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
            func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
            var bytes = Array("GGUF".utf8) + u32(3) + u64(2) + u64(0)
            for (name, type, offset) in [("a", types.0, offsets.0), ("b", types.1, offsets.1)] {
                bytes += u64(1) + Array(name.utf8) + u32(1) + u64(64) + u32(type) + u64(offset)
            }
            bytes += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
            return bytes + [UInt8](repeating: 0, count: data)
        }
        #expect(try reason(file(types: (0, 0), offsets: (0, 256))) == "accepted")
        #expect(try reason(file(types: (1, 0), offsets: (0, 256))).contains("tensor a: 256 bytes up to the next tensor, but its type"))
        #expect(try reason(file(types: (0, 0), offsets: (0, 128))).contains("overlaps the data of b"))
        #expect(try reason(file(types: (0, 1), offsets: (0, 256))).contains("tensor b: 256 bytes up to the end of the file"))
    }
}
