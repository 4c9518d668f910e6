import Foundation
import Hub
import HubTestSupport
import LaMPQACore
import Testing

/// `iap data pull lamp-qa` against the test Hub: the converted-Parquet branch when main holds
/// no tables, main's own JSON when it does, the counts compared, nothing half-written.
@Suite struct LaMPQAPullTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parquet")
    static let repo = "datasets/alireza7/LaMP-QA"
    static let mainCommit = String(repeating: "a1", count: 20)
    static let parquetCommit = String(repeating: "b2", count: 20)
    static let threeEach = Dictionary(uniqueKeysWithValues: LaMPQASourceFiles.allTables.map { ($0, 3) })

    /// Main holds a README only; the Hub's converted branch holds `{config}/{split}/0000.parquet`.
    static func parquetServer(dropping: LaMPQASourceFiles.Table? = nil) throws -> HubTestServer {
        var files: [String: [UInt8]] = [:]
        for table in LaMPQASourceFiles.allTables where table != dropping {
            let name = "lampqa-tiny-\(table.domain.rawValue)-\(table.split.rawValue).parquet"
            files["\(table.domain.rawValue)/\(table.split.rawValue)/0000.parquet"] = [UInt8](
                try Data(contentsOf: fixtures.appendingPathComponent(name)))
        }
        return HubTestServer([
            repo: .init(commit: mainCommit, files: ["README.md": Array("# LaMP-QA".utf8), ".gitattributes": []]),
            repo + "@refs/convert/parquet": .init(commit: parquetCommit, files: files),
        ])
    }

    static func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    }

    /// The blocking pull on a thread of its own (the server's handlers need the test's threads).
    static func pull(_ pull: LaMPQAPull, to folder: String) async -> Result<[LaMPQAPull.Written], LaMPQAPullError> {
        await withCheckedContinuation { continuation in
            Thread {
                do throws(LaMPQAPullError) { continuation.resume(returning: .success(try pull.run(to: folder) { _ in })) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }.start()
        }
    }

    static func puller(_ port: Int, cache: String, counts: [LaMPQASourceFiles.Table: Int] = threeEach) -> LaMPQAPull {
        LaMPQAPull(
            client: HubClient(endpoint: "http://127.0.0.1:\(port)", token: nil, cache: HubCache(root: cache)), expectedCounts: counts)
    }

    @Test func theConvertedParquetBecomesTheBenchmarksLayout() async throws {
        let (cache, out) = (Self.scratch("hub"), Self.scratch("lampqa"))
        defer { for p in [cache, out] { try? FileManager.default.removeItem(atPath: p) } }
        let server = try Self.parquetServer()
        let written = try await withHubServer(server) { port in try await Self.pull(Self.puller(port, cache: cache), to: out).get() }
        #expect(written.count == 9 && written.allSatisfy { $0.records == 3 })
        #expect(written.first?.source == ["Art_and_Entertainment/train/0000.parquet"])
        for split in LaMPQASplit.allCases {
            var options = LaMPQADataset.Options()
            options.split = split
            let data = try LaMPQADataset(folder: out, options: options)
            #expect(data.records.count == 9)
            let first = try #require(data.records.first)
            #expect(first.id == "0_\(LaMPQASplit.allCases.firstIndex(of: split)!)_0" && first.aspects.first?.aspect == "Aspect 0")
        }
        // The shared cache's layout, the branch's ref under its own name, as huggingface_hub writes it.
        let folder = cache + "/datasets--alireza7--LaMP-QA"
        #expect(try String(contentsOfFile: folder + "/refs/refs/convert/parquet", encoding: .utf8) == Self.parquetCommit)
        #expect(FileManager.default.fileExists(atPath: folder + "/snapshots/\(Self.parquetCommit)/Society_and_Culture/test/0000.parquet"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }.isEmpty)
        // HF_HUB_OFFLINE: the same tables again from the cache, the server gone.
        let again = Self.scratch("lampqa-offline")
        defer { try? FileManager.default.removeItem(atPath: again) }
        setenv("HF_HUB_OFFLINE", "1", 1)
        defer { unsetenv("HF_HUB_OFFLINE") }
        let offline = try Self.puller(9, cache: cache).run(to: again) { _ in }
        #expect(offline.map(\.records) == written.map(\.records))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: again + "/Art_and_Entertainment_test.json"))
                == Data(contentsOf: URL(fileURLWithPath: out + "/Art_and_Entertainment_test.json")))
        unsetenv("HF_HUB_OFFLINE")
        let empty = Self.scratch("hub-empty")
        setenv("HF_HUB_OFFLINE", "1", 1)
        #expect { try Self.puller(9, cache: empty).run(to: again) { _ in } } throws: { "\($0)".contains("HF_HUB_OFFLINE") }
    }

    @Test func aShortTableIsAnErrorAndIsNotWritten() async throws {
        let (cache, out) = (Self.scratch("hub"), Self.scratch("lampqa"))
        defer { for p in [cache, out] { try? FileManager.default.removeItem(atPath: p) } }
        var counts = Self.threeEach
        let table = LaMPQASourceFiles.Table(domain: .lifestyleAndPersonalDevelopment, split: .validation)
        counts[table] = 892
        let result = try await withHubServer(try Self.parquetServer()) { port in
            await Self.pull(Self.puller(port, cache: cache, counts: counts), to: out)
        }
        guard case .failure(let error) = result else { Issue.record("a short table was accepted"); return }
        #expect(
            error.description.contains("Lifestyle_and_Personal_Development_validation.json")
                && error.description.contains("3 records where LaMP-QA's Lifestyle_and_Personal_Development validation has 892 (short"),
            "\(error)")
        #expect(!FileManager.default.fileExists(atPath: out + "/" + table.fileName))
        #expect(!FileManager.default.fileExists(atPath: out + "/.partial-" + table.fileName))
    }

    @Test func aMissingTableIsNamed() async throws {
        let (cache, out) = (Self.scratch("hub"), Self.scratch("lampqa"))
        defer { for p in [cache, out] { try? FileManager.default.removeItem(atPath: p) } }
        let server = try Self.parquetServer(dropping: .init(domain: .societyAndCulture, split: .train))
        let result = try await withHubServer(server) { port in await Self.pull(Self.puller(port, cache: cache), to: out) }
        guard case .failure(let error) = result else { Issue.record("a missing table was accepted"); return }
        #expect(error.description.contains("missing: Society_and_Culture_train.json"), "\(error)")
    }

    /// Main's own JSON files are used as they are; the converted branch is never asked.
    @Test func mainsOwnJSONIsUsedWhenItHoldsEveryTable() async throws {
        let (cache, out) = (Self.scratch("hub"), Self.scratch("lampqa"))
        defer { for p in [cache, out] { try? FileManager.default.removeItem(atPath: p) } }
        var files: [String: [UInt8]] = ["README.md": []]
        for table in LaMPQASourceFiles.allTables {
            let records = (0..<3).map { n in
                #"{"id": "\#(table.domain.index)_0_\#(n)", "question": "Q\#(n)?", "narrative": "N", "category": "C", "profile": [], "#
                    + #""rubric_aspects": [{"aspect": "A", "reason": "R", "evidence": "E"}]}"#
            }
            files["data/" + table.fileName] = Array(("[" + records.joined(separator: ",") + "]").utf8)
        }
        let server = HubTestServer([Self.repo: .init(commit: Self.mainCommit, files: files)])
        let written = try await withHubServer(server) { port in try await Self.pull(Self.puller(port, cache: cache), to: out).get() }
        #expect(written.map(\.records) == Array(repeating: 3, count: 9))
        #expect(!server.log.contains { $0.path.contains("convert") })
        let data = try LaMPQADataset(folder: out)
        #expect(data.records.count == 9 && data.records[0].aspects == [RubricAspect(aspect: "A", reason: "R", evidence: "E")])
    }

    @Test(arguments: [
        ("Art_and_Entertainment_train.json", true), ("data/Art_and_Entertainment/train-00000-of-00001.parquet", true),
        ("art_and_entertainment/partial-train/0000.parquet", true), ("Art_and_Entertainment/training/0000.parquet", false),
        ("Art_and_Entertainment_test.json", false), ("Society_and_Culture_train.json", false), ("Art_and_Entertainment_train.csv", false),
    ])
    func layoutsAreRecognised(path: String, holds: Bool) {
        let found = LaMPQASourceFiles(paths: [path])
        #expect((found.files[.init(domain: .artAndEntertainment, split: .train)] != nil) == holds)
    }
}
