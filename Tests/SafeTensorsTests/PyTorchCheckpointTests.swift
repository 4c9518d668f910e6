import Foundation
import Testing

@testable import SafeTensors

/// `pytorch_model.bin` read without running its pickle (fixtures by
/// scripts/fixtures/make_pickle_fixtures.py: torch.save of a state dict, of a hostile object,
/// and the pre-1.6 format).
@Suite struct PyTorchCheckpointTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pickle")

    struct Expected: Decodable {
        let dtype: String
        let shape: [Int]
        let values: [Float]
    }

    /// Values of a tensor's bytes as floats (F32, F16, BF16, I64).
    static func floats(_ bytes: UnsafeRawBufferPointer, dtype: String) -> [Float] {
        switch dtype {
        case "F32": return Array(bytes.bindMemory(to: Float.self))
        case "F16": return bytes.bindMemory(to: Float16.self).map(Float.init)
        case "BF16": return bytes.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
        case "I64": return bytes.bindMemory(to: Int64.self).map(Float.init)
        default: return []
        }
    }

    @Test func aStateDictReadsAsTorchSavedIt() throws {
        let expected = try JSONDecoder().decode(
            [String: Expected].self, from: Data(contentsOf: Self.folder.appendingPathComponent("state.json")))
        let checkpoint = try PyTorchCheckpoint(path: Self.folder.appendingPathComponent("state.bin").path)
        #expect(Set(checkpoint.names) == Set(expected.keys))
        for (name, want) in expected {
            let entry = try #require(checkpoint.entry(name))
            #expect(entry.dtype == want.dtype && entry.shape == want.shape, "\(name)")
            let bytes = try #require(checkpoint.bytes(of: name))
            #expect(Self.floats(bytes, dtype: want.dtype) == want.values, "\(name)")
        }
    }

    /// Checkpoints past 4 GB are ZIP64 archives: the same tensors read from that form.
    @Test func zip64ArchivesReadTheSame() throws {
        let plain = try PyTorchCheckpoint(path: Self.folder.appendingPathComponent("state.bin").path)
        let wide = try PyTorchCheckpoint(path: Self.folder.appendingPathComponent("zip64.bin").path)
        #expect(wide.names == plain.names)
        for name in plain.names {
            #expect(wide.entry(name) == plain.entry(name))
            #expect(wide.bytes(of: name).map(Array.init) == plain.bytes(of: name).map(Array.init), "\(name)")
        }
    }

    /// A pickle that would call os.system under torch.load is refused, naming the global; nothing runs.
    @Test func aHostilePickleIsRefusedNamingTheGlobal() throws {
        let marker = "/tmp/iap-pickle-ran"
        try? FileManager.default.removeItem(atPath: marker)
        #expect {
            _ = try PyTorchCheckpoint(path: Self.folder.appendingPathComponent("hostile.bin").path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("hostile.bin") && text.contains("refuses global posix.system")
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func theLegacyFormatAndDamageAreClearErrors() throws {
        #expect {
            _ = try PyTorchCheckpoint(path: Self.folder.appendingPathComponent("legacy.bin").path)
        } throws: { "\($0)".contains("before 1.6") }
        // Every truncation of a good file is an error, never a crash or a wrong tensor.
        let good = try Data(contentsOf: Self.folder.appendingPathComponent("state.bin"))
        let path = NSTemporaryDirectory() + "iap-pickle-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for cut in stride(from: 0, to: good.count, by: 37) {
            try good.prefix(cut).write(to: URL(fileURLWithPath: path))
            #expect(throws: SafeTensorsError.self, "cut at \(cut)") { _ = try PyTorchCheckpoint(path: path) }
        }
        // Flipped bytes inside the pickle: an error or a readable dict, never a crash.
        for offset in stride(from: 60, to: 400, by: 7) {
            var damaged = good
            damaged[offset] ^= 0x5A
            try damaged.write(to: URL(fileURLWithPath: path))
            _ = try? PyTorchCheckpoint(path: path)
        }
    }
}
