import Foundation
import Testing

/// What a new user runs first: `make demo` on a cache that holds only what the demo fetches.
@Suite(.serialized) struct FirstCommandTests: RunsIAP {
    /// A cache with the embedded default's two models only (links to the development
    /// cache's folders): what a fresh `make demo` has when its doctor step runs.
    private func demoOnlyCache() throws -> String {
        let home =
            ProcessInfo.processInfo.environment["IAP_CACHE"]
            ?? (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/iap"
        let cache = scratch("demo-cache")
        try FileManager.default.createDirectory(atPath: cache + "/models", withIntermediateDirectories: true)
        let folders = try FileManager.default.contentsOfDirectory(atPath: home + "/models")
        for folder in folders where folder.hasPrefix("smollm2-135m-instruct-") || folder.hasPrefix("all-minilm-l6-v2-") {
            try FileManager.default.createSymbolicLink(atPath: cache + "/models/" + folder, withDestinationPath: home + "/models/" + folder)
        }
        return cache
    }

    @Test func doctorPassesOnWhatTheDemoFetches() throws {
        guard binaryIsBuilt else { return }
        let cache = try demoOnlyCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let r = try iap(["doctor"], environment: ["IAP_CACHE": cache])
        #expect(r.status == 0, "doctor failed on the demo's cache:\n\(r.output)\n\(r.errors)")
        #expect(r.output.contains("model gemma3-270m: not in the cache (optional"))
        #expect(r.output.hasSuffix("ok\n"))

        let needing = try iap(["doctor", "--require", "gemma3-270m"], environment: ["IAP_CACHE": cache])
        #expect(needing.status == 1)
        #expect(needing.output.contains("problem: model gemma3-270m is not in the cache: run 'iap models pull gemma3-270m'"))

        let unknown = try iap(["doctor", "--require", "gpt-5"], environment: ["IAP_CACHE": cache])
        #expect(unknown.status != 0)
        #expect(unknown.errors.contains("'gpt-5' is not a catalog model"))
    }

    @Test func doctorFailsWhenAnEmbeddedModelIsMissing() throws {
        guard binaryIsBuilt else { return }
        let cache = try demoOnlyCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        for link in try FileManager.default.contentsOfDirectory(atPath: cache + "/models") where link.hasPrefix("all-minilm") {
            try FileManager.default.removeItem(atPath: cache + "/models/" + link)
        }
        let r = try iap(["doctor"], environment: ["IAP_CACHE": cache])
        #expect(r.status == 1)
        #expect(r.output.contains("problem: model all-minilm-l6-v2 is not in the cache"))
    }

    /// `iap metrics`: CI's check of the shortened demo's first step against a pinned record.
    @Test func metricsAreCheckedAgainstAPinnedRecord() throws {
        guard binaryIsBuilt else { return }
        let run = repository.appendingPathComponent("Tests/Fixtures/legacy/run").path
        let folder = scratch("pinned")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pin = folder + "/pin.json"
        let pinned = try iap(["metrics", run, "--step", "1", "--pin", pin, "--note", "the legacy fixture"])
        #expect(pinned.status == 0 && pinned.output.contains("policy/entropy 3.255300760269165"), "\(pinned.errors)")
        let agreeing = try iap(["metrics", run, "--expect", pin])
        #expect(agreeing.status == 0 && agreeing.output.contains("step 1 agrees with"), "\(agreeing.errors)")

        var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pin))) as? [String: Any])
        var values = try #require(record["values"] as? [String: Any])
        values["policy/entropy"] = 3.5
        record["values"] = values
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: pin))
        let differing = try iap(["metrics", run, "--expect", pin])
        #expect(differing.status == 1, "\(differing.output)")
        #expect(
            differing.errors.contains("policy/entropy: 3.2553, pinned 3.5 ± 0.02") && differing.errors.contains("the legacy fixture"),
            "\(differing.errors)")

        let none = try iap(["metrics", folder])
        #expect(none.status == 1 && none.errors.contains("not a run folder (no metrics.jsonl)"), "\(none.errors)")
    }
}
