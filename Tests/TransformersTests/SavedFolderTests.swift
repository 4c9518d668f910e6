import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Folders exactly as transformers' `save_pretrained` writes them — model, tokenizer and
/// generation config, one per supported decoder family (Tests/Fixtures/saved, written by
/// scripts/fixtures/make_saved_folder_fixtures.py). Their tokenizer_config.json holds
/// `"model_max_length": 1000000000000000019884624838656` (int(1e30), "no limit"), which was
/// refused as "not valid JSON"; the multimodal Gemma 3 folder names its turn end (106) only at
/// config.json's top level and in generation_config.json.
@Suite struct SavedFolderTests {
    struct Case: Decodable {
        let ids: [Int]
        let greedy: [Int]
        let stops: [Int]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/saved")

    static func cases() throws -> [String: Case] {
        try JSONDecoder().decode([String: Case].self, from: Data(contentsOf: folder.appendingPathComponent("greedy.json")))
    }

    /// Each folder loads (tokenizer and model) and its greedy continuation equals transformers'
    /// under the folder's own generation config, stopping where transformers stops.
    @Test(arguments: ["llama", "qwen2", "mistral", "gemma3-text", "gemma3-12b-it-shaped"])
    func loadsAndGeneratesAsTransformers(_ name: String) throws {
        let expected = try #require(try Self.cases()[name])
        let files = try ModelFiles(path: Self.folder.appendingPathComponent(name).path)
        #expect(files.tokenizerSettings?.modelMaxLength == .unlimited)
        let tokenizer = try files.loadTokenizer()
        #expect(tokenizer.encode("The lighthouse keeper read the message twice", addSpecialTokens: true) == expected.ids)
        guard case .causalLM(let config) = files.config else { Issue.record("\(name): not a causal LM"); return }
        #expect(Set(expected.stops).isSubset(of: config.eosTokenIds), "\(name): stops \(config.eosTokenIds)")
        let model = try CausalLM.load(files)
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = 16
        let out = try model.generate(prompts: [expected.ids], tokenizer: tokenizer, options: options)[0]
        #expect(out.tokens == expected.greedy, "\(name)")
        let stopped = expected.greedy.count < 16
        #expect(out.finishReason == (stopped ? .stop : .length), "\(name)")
    }

    /// gemma-3-12b-it's shape: the turn end is read from config.json's top level and from
    /// generation_config.json, and the summary says where each stop id came from.
    @Test func multimodalStopTokensComeFromEveryPlace() throws {
        let files = try ModelFiles(path: Self.folder.appendingPathComponent("gemma3-12b-it-shaped").path)
        let byId = Dictionary(uniqueKeysWithValues: files.stopTokens.entries.map { ($0.id, $0.from) })
        #expect(byId[106] == ["config.json", "generation_config.json"])
        #expect(byId[1] == ["config.json", "config.json text_config", "generation_config.json"])
        let summary = files.summary()
        #expect(summary.stopTokens?.map(\.id) == [1, 106])
        let text = try #require(String(data: try JSONEncoder().encode(summary), encoding: .utf8))
        #expect(text.contains("\"stop_tokens\""))
    }

    /// `chat_template: plain` (the paper configs' base models): iap's plain template even where
    /// the folder ships a chat template (Qwen2.5-7B's base tokenizer carries ChatML).
    @Test func plainTemplateWinsOverAShippedOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-plain-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Self.folder.appendingPathComponent("qwen2").path, toPath: folder)
        try Data("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}".utf8).write(
            to: URL(fileURLWithPath: folder + "/chat_template.jinja"))
        let files = try ModelFiles(path: folder)
        #expect(try files.chatTemplate().familyName == "chatml")
        guard case .plain = try files.chatTemplate(file: ModelFiles.plainTemplateName).family else {
            Issue.record("the plain template was not chosen")
            return
        }
    }
}
