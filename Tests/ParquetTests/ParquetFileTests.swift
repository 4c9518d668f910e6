import Foundation
import FileIO
import Parquet
import Testing

/// The reader against pyarrow: each fixture's rows equal pyarrow's `to_pylist()` of the same
/// file (scripts/fixtures/make_parquet_fixtures.py), and damaged files are errors, not traps.
struct ParquetFileTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parquet").path

    static func allRows(_ file: ParquetFile) throws -> [ParquetValue] {
        try (0..<file.rowGroupCount).flatMap { try file.rows(inRowGroup: $0) }
    }

    /// Both sides as Foundation objects: key order and 1 vs 1.0 do not matter, values do.
    static func foundationJSON(_ data: Data) throws -> NSObject {
        try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as! NSObject
    }

    @Test(arguments: ["lampqa-snappy", "lampqa-v2-plain", "types"])
    func rowsEqualPyarrowsReading(name: String) throws {
        let file = try ParquetFile(path: "\(Self.folder)/\(name).parquet")
        let rows = try Self.allRows(file)
        let expected = try Self.foundationJSON(Data(contentsOf: URL(fileURLWithPath: "\(Self.folder)/\(name).json")))
        #expect(file.rowCount == rows.count)
        let encoded = Data(ParquetValue.list(rows).jsonText)
        #expect(try Self.foundationJSON(encoded) == expected, "\(String(decoding: encoded, as: UTF8.self).prefix(3000))")
    }

    @Test func nestedListsOfStructsKeepTheirShape() throws {
        let file = try ParquetFile(path: "\(Self.folder)/lampqa-snappy.parquet")
        #expect(file.rowGroupCount == 4)
        #expect(file.columnNames == ["id", "question", "narrative", "category", "profile", "rubric_aspects"])
        let rows = try Self.allRows(file)
        #expect(throws: FileIOError.self) { try file.rows(inRowGroup: 4) }
        #expect(rows[1]["profile"] == .list([]))
        #expect(rows[2]["profile"] == .null)
        #expect(rows[3]["narrative"] == .null)
        guard case .list(let aspects) = rows[4]["rubric_aspects"] else { Issue.record("no list"); return }
        #expect(aspects.first?["evidence"] == .null && aspects.first?["aspect"] == .string("Aspect 0"))
        guard case .list(let posts) = rows[9]["profile"] else { Issue.record("no list"); return }
        #expect(posts.count == 4 && posts[3]["id"] == .string("p9_3"))
    }

    /// Every truncation and many bit flips of a Snappy, dictionary-encoded, nested file:
    /// an error naming the file, or rows; never a crash or a hang.
    @Test func damagedFilesAreErrorsNamingTheFile() throws {
        let path = "\(Self.folder)/lampqa-snappy.parquet"
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-damage-\(getpid()).parquet").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var generator = SystemRandomNumberGenerator()
        var variants: [[UInt8]] = stride(from: 0, to: original.count, by: max(1, original.count / 150)).map { Array(original[..<$0]) }
        for _ in 0..<400 {
            var bytes = original
            let k = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[k] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            variants.append(bytes)
        }
        var errors = 0
        for bytes in variants {
            try Data(bytes).write(to: URL(fileURLWithPath: scratch))
            do {
                _ = try Self.allRows(try ParquetFile(path: scratch))
            } catch let error as FileIOError {
                errors += 1
                #expect(error.description.hasPrefix(scratch + ": "))
            }
        }
        #expect(errors >= 150)
    }

    /// Rows as JSON: fields in schema order, every character JSON must escape escaped.
    @Test func jsonTextKeepsOrderAndEscapes() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} é 🎵"
        let row = ParquetValue.record([
            .init(name: "z", value: .string(tricky)), .init(name: "a", value: .list([.int(-3), .double(.nan), .bytes([0, 255])])),
        ])
        let text = String(decoding: row.jsonText, as: UTF8.self)
        #expect(text.hasPrefix("{\"z\":") && text.contains("\\u0007"))
        let back = try #require(try JSONSerialization.jsonObject(with: Data(row.jsonText)) as? [String: Any])
        #expect(back["z"] as? String == tricky)
        #expect((back["a"] as? [Any])?.count == 3 && (back["a"] as? [Any])?[1] is NSNull && (back["a"] as? [Any])?[2] as? String == "AP8=")
    }

    @Test func notParquetSaysSo() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("not-parquet-\(getpid()).parquet").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Data("[{\"id\": 1}]".utf8).write(to: URL(fileURLWithPath: scratch))
        #expect(throws: FileIOError(path: scratch, reason: "not a Parquet file (no PAR1 at its start and end)")) {
            try ParquetFile(path: scratch)
        }
        #expect(throws: FileIOError.self) { try ParquetFile(path: scratch + ".missing") }
    }
}
