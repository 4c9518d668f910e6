import Foundation
import Testing

@testable import SafeTensors

@Suite struct JSONValueTests {
    @Test func parsesTheValueKindsAndKeepsIntegersExact() throws {
        let value = try JSONValue.parse(
            #"{"a": [1, -2, 3.5, 1e3], "b": "x\"\u00e9\ud83d\ude00", "c": true, "d": null, "big": 9007199254740993}"#)
        #expect(value["a"] == .array([.int(1), .int(-2), .double(3.5), .double(1000)]))
        #expect(value["b"]?.stringValue == "x\"é😀")
        #expect(value["c"] == .bool(true))
        #expect(value["d"] == .null)
        #expect(value["big"]?.intValue == 9_007_199_254_740_993)
    }

    @Test func rejectsMalformedText() {
        for text in [
            "", "{", "{\"a\" 1}", "[1,]", "[1 2]", "\"abc", "tru", "{\"a\":1} x", "\"\\ud800\"", "-",
            "[" + String(repeating: "[", count: 400),
        ] {
            #expect(throws: JSONError.self, "\(text)") { try JSONValue.parse(text) }
        }
    }

    @Test func serialisesWithEscapes() throws {
        let value = JSONValue.object([("k", .string("a\"b\n\u{01}")), ("n", .array([.int(1), .bool(false), .null]))])
        #expect(value.serialized == #"{"k":"a\"b\n\u0001","n":[1,false,null]}"#)
        #expect(try JSONValue.parse(value.serialized) == value)
    }
}

@Suite struct SafeTensorsFileTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("iap-st-\(UUID().uuidString).safetensors").path
    }

    static func record(_ name: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) -> SafeTensorsRecord {
        SafeTensorsRecord(name: name, dtype: dtype, shape: shape, byteCount: bytes.count) { (sink) throws(SafeTensorsError) in
            try bytes.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try sink(raw) } }.get()
        }
    }

    /// A valid two-tensor file written by our writer.
    static func validFile() throws -> [UInt8] {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsWriter.write(
            [record("b", "F32", [2], [0, 0, 128, 63, 0, 0, 0, 64]), record("a", "I64", [1], [7, 0, 0, 0, 0, 0, 0, 0])],
            metadata: ["format": "pt"], to: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func writesTheReferenceLayout() throws {
        let bytes = try Self.validFile()
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0, "data section is 8-byte aligned")
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}"#))
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        #expect(file.entries.map(\.name) == ["a", "b"])
        #expect(file.metadata == ["format": "pt"])
        let b = try #require(file.entry("b"))
        #expect(Array(file.bytes(of: b)) == [0, 0, 128, 63, 0, 0, 0, 64])
    }

    @Test func writeIsAtomicAndRejectsInconsistentRecords() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsWriter.write([Self.record("x", "U8", [2], [1, 2])], to: path)
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write([Self.record("x", "F32", [2], [1, 2])], to: path)
        }
        // The failed write left the earlier file intact and no temporary beside it.
        #expect(try SafeTensorsFile(path: path).entries.map(\.shape) == [[2]])
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(!siblings.contains { $0.hasPrefix((path as NSString).lastPathComponent + ".tmp") })
    }

    @Test func namesTheProblemInBadHeaders() throws {
        func problem(_ header: String, data: Int = 8) throws -> String {
            var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
            bytes += Array(header.utf8) + [UInt8](repeating: 0, count: data)
            let path = Self.temporaryPath()
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try SafeTensorsFile(path: path)
                return "accepted"
            } catch {
                #expect(error.path == path)
                return error.reason
            }
        }
        #expect(try problem(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#).contains("8 bytes for shape [3]"))
        #expect(try problem(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#).contains("outside the 8-byte data section"))
        #expect(try problem(#"{"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#).contains("unknown dtype Q9"))
        #expect(try problem(#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#).contains("missing or non-string dtype"))
        #expect(try problem(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#).contains("negative"))
        #expect(try problem(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#).contains("outside"))
        #expect(try problem(#"[1]"#).contains("not a JSON object"))
        #expect(try problem(#"{"w":1"#).contains("invalid JSON"))
        #expect(try problem(#"{"__metadata__":{"k":1}}"#).contains("__metadata__.k"))
        #expect(try problem(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#) == "accepted")
        // Two tensors on the same bytes, or bytes no tensor owns (the safetensors library refuses both).
        #expect(
            try problem(
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12
            )
            .contains("overlap"))
        #expect(
            try problem(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)
                .contains("overlap"))
        #expect(
            try problem(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#).contains(
                "bytes 0..<4 of the data section belong to no tensor"))
        #expect(try problem(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#).contains("bytes 4..<8"))
    }

    /// Truncations, flipped bytes and random headers: each must be rejected with an error or
    /// read consistently, never crash or read out of bounds.
    @Test func mutatedFilesNeverCrash() throws {
        let valid = try Self.validFile()
        var generator = SystemRandomNumberGenerator()
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rejected = 0
        var mutants: [[UInt8]] = (0..<valid.count).map { Array(valid[0..<$0]) }
        for _ in 0..<400 {
            var copy = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let i = Int.random(in: 0..<copy.count, using: &generator)
                copy[i] = UInt8.random(in: 0...255, using: &generator)
            }
            mutants.append(copy)
        }
        // Huge declared header lengths.
        for length: UInt64 in [UInt64.max, 1 << 40, 100_000_001, UInt64(valid.count)] {
            mutants.append(withUnsafeBytes(of: length.littleEndian, Array.init) + valid[8...])
        }
        for mutant in mutants {
            try Data(mutant).write(to: URL(fileURLWithPath: path))
            do {
                let file = try SafeTensorsFile(path: path)
                for entry in file.entries {
                    #expect(file.bytes(of: entry).count == entry.dataOffsets.count)
                }
            } catch {
                rejected += 1
            }
        }
        #expect(rejected >= valid.count)
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
    }
}
