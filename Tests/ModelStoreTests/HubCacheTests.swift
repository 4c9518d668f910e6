import Foundation
import Hub
import Testing

@testable import ModelStore

/// Hub ids (`org/name[@revision]`) resolved through a Hugging Face cache in huggingface_hub's
/// layout — blobs, snapshots of relative links, refs — built here around the tiny Llama
/// fixture, without network.
@Suite struct HubCacheTests {
    static let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/tiny-llama3")
    static let commit = String(repeating: "3f", count: 20)

    /// A cache holding `org/tiny` at `commit`, `main` pointing at it; returns its root.
    func makeCache() throws -> String {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString)").path
        let repo = root + "/models--org--tiny"
        let snapshot = repo + "/snapshots/" + Self.commit
        for folder in [repo + "/blobs", repo + "/refs", snapshot] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        for (k, name) in ["config.json", "model.safetensors"].enumerated() {
            let blob = "blob\(k)" + String(repeating: "0", count: 35)
            try fm.copyItem(atPath: Self.tinyModel.appendingPathComponent(name).path, toPath: repo + "/blobs/" + blob)
            try fm.createSymbolicLink(atPath: snapshot + "/" + name, withDestinationPath: "../../blobs/" + blob)
        }
        try (Self.commit + "\n").write(toFile: repo + "/refs/main", atomically: true, encoding: .utf8)
        return root
    }

    @Test func idsParseAndOthersDoNot() {
        #expect(HubRepository(parsing: "Qwen/Qwen2.5-7B-Instruct") == HubRepository(id: "Qwen/Qwen2.5-7B-Instruct"))
        #expect(HubRepository(parsing: "google/gemma-3-12b-it@v1.0")?.revision == "v1.0")
        #expect(HubRepository(parsing: "org/name@\(Self.commit)")?.revisionIsCommit == true)
        #expect(HubRepository(parsing: "microsoft/deberta-v3-large")?.cacheFolderName == "models--microsoft--deberta-v3-large")
        for bad in [
            "smollm2-135m-instruct", "/abs/path", "a/b/c", "./x", "org/", "/name", "org/..", "org/-x", "org/name@", "org/na me",
            "org/name@../x", "org/name@a b",
        ] {
            #expect(HubRepository(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func cachedRepositoriesResolveToTheirSnapshot() throws {
        let root = try makeCache()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ModelStore(hubCache: HubCache(root: root))
        let snapshot = root + "/models--org--tiny/snapshots/" + Self.commit
        #expect(try store.resolve("org/tiny", pull: false) == .folder(snapshot))
        #expect(try store.resolve("org/tiny@main", pull: false) == .folder(snapshot))
        #expect(try store.resolve("org/tiny@\(Self.commit)", pull: false) == .folder(snapshot))
        // An adapter repository (adapter_config.json, no config.json) resolves too: the commands
        // load it onto the base model it names.
        let lora = root + "/models--org--lora/snapshots/" + Self.commit
        try FileManager.default.createDirectory(atPath: lora, withIntermediateDirectories: true)
        try #"{"peft_type": "LORA", "base_model_name_or_path": "org/tiny"}"#.write(
            toFile: lora + "/adapter_config.json", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/models--org--lora/refs", withIntermediateDirectories: true)
        try Self.commit.write(toFile: root + "/models--org--lora/refs/main", atomically: true, encoding: .utf8)
        #expect(try store.resolve("org/lora", pull: false) == .folder(lora))
        // The links are followed: the config is the fixture's.
        let config = try String(contentsOfFile: snapshot + "/config.json", encoding: .utf8)
        #expect(config == (try String(contentsOf: Self.tinyModel.appendingPathComponent("config.json"), encoding: .utf8)))
    }

    @Test func missingRepositoriesAndRevisionsAreExplained() throws {
        let root = try makeCache()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ModelStore(hubCache: HubCache(root: root))
        for (name, expected) in [
            ("org/absent", "models--org--absent/refs/main is missing"), ("org/tiny@dev", "refs/dev is missing"),
            ("org/tiny@" + String(repeating: "ab", count: 20), "snapshots/abab"), ("not a model", "nor a Hub id"),
        ] {
            #expect {
                _ = try store.resolve(name, pull: false)
            } throws: { error in
                "\(error)".contains(expected) && (!name.contains("/") || "\(error)".contains(root))
            }
        }
        // A snapshot without config.json (a dataset, a GGUF-only repository) is named as such.
        try FileManager.default.removeItem(atPath: root + "/models--org--tiny/snapshots/\(Self.commit)/config.json")
        #expect { _ = try store.resolve("org/tiny", pull: false) } throws: { "\($0)".contains("has no config.json") }
    }

    /// A local folder spelt like a Hub id wins, and the log says so.
    @Test func aLocalFolderOfThatNameWins() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("local-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: base + "/org/tiny", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.tinyModel.appendingPathComponent("config.json").path, toPath: base + "/org/tiny/config.json")
        defer { try? fm.removeItem(atPath: base) }
        let previous = fm.currentDirectoryPath
        fm.changeCurrentDirectoryPath(base)
        defer { fm.changeCurrentDirectoryPath(previous) }
        var notes: [String] = []
        #expect(
            try ModelStore(hubCache: HubCache(root: base + "/no-cache")).resolve("org/tiny", pull: false) { notes.append($0) }
                == .folder("org/tiny"))
        #expect(notes.contains { $0.contains("local folder") })
    }
}
