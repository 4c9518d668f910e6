import Foundation
import HubTestSupport
import Testing

/// `iap data pull lamp-qa` as a user runs it, against the test Hub through `HF_ENDPOINT`,
/// with the benchmark's own record counts: a repository whose main revision holds the nine
/// tables as JSON Lines, each of the published size (tiny records), and one short by a record.
@Suite struct DataPullTests: RunsIAP {
    static let counts: [String: [Int]] = [
        "Art_and_Entertainment": [9349, 801, 767], "Lifestyle_and_Personal_Development": [7370, 892, 989],
        "Society_and_Culture": [7614, 810, 1074],
    ]

    static func server(shortBy: Int = 0) -> HubTestServer {
        var files: [String: [UInt8]] = [:]
        for (d, (config, numbers)) in counts.sorted(by: { $0.key < $1.key }).enumerated() {
            for (s, (split, n)) in zip(["train", "validation", "test"], numbers).enumerated() {
                let short = config == "Society_and_Culture" && split == "test" ? shortBy : 0
                let lines = (0..<(n - short)).map { k in
                    #"{"id": "\#(d)_\#(s)_\#(k)", "question": "Question \#(k)?", "profile": [{"id": "p", "category": "c", "text": "t"}], "#
                        + #""rubric_aspects": [{"aspect": "a", "reason": "r", "evidence": "e"}]}"#
                }
                files["\(config)/\(split).jsonl"] = Array(lines.joined(separator: "\n").utf8)
            }
        }
        return HubTestServer(["datasets/alireza7/LaMP-QA": .init(commit: String(repeating: "d4", count: 20), files: files)])
    }

    /// The blocking command on a thread of its own, while the test Hub answers on the test's.
    func pull(_ port: Int, to folder: String, cache: String) async throws -> CommandResult {
        let environment = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache, "HF_TOKEN": ""]
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try iap(["data", "pull", "lamp-qa", "--to", folder], environment: environment) })
            }.start()
        }
    }

    @Test func theBenchmarkArrivesWithItsPublishedCounts() async throws {
        guard binaryIsBuilt else { return }
        let (out, cache) = (scratch("lampqa"), scratch("hub"))
        defer { for p in [out, cache] { try? FileManager.default.removeItem(atPath: p) } }
        let r = try await withHubServer(Self.server()) { port in try await pull(port, to: out, cache: cache) }
        #expect(r.status == 0, "\(r.errors)")
        #expect(r.output.contains("lamp-qa: 29666 records in 9 files under \(out)"), "\(r.output)")
        #expect(r.output.contains("Society_and_Culture_test.json: 1074 records"))
        let art = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/Art_and_Entertainment_train.json")))
        #expect((art as? [Any])?.count == 9349)
    }

    @Test func aTableShortOfTheBenchmarkStopsThePull() async throws {
        guard binaryIsBuilt else { return }
        let (out, cache) = (scratch("lampqa"), scratch("hub"))
        defer { for p in [out, cache] { try? FileManager.default.removeItem(atPath: p) } }
        let r = try await withHubServer(Self.server(shortBy: 1)) { port in try await pull(port, to: out, cache: cache) }
        #expect(r.status == 1)
        #expect(
            r.errors.contains("Society_and_Culture_test.json: 1073 records where LaMP-QA's Society_and_Culture test has 1074 (short"),
            "\(r.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "/Society_and_Culture_test.json"))
    }
}
