import Foundation
import JSONFiles
import ModelStore
import SafeTensors
import Testing

@testable import ModelFormats

let configFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/config")

func temporaryFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-model-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func writeFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

@Suite struct ConfigTests {
    /// Each case: a config.json as written, and the values transformers resolves.
    @Test func missingKeysGetTransformersDefaults() throws {
        let data = try Data(contentsOf: configFixtures.appendingPathComponent("cases.json"))
        let cases = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(cases.count == 10)
        for (i, item) in cases.enumerated() {
            let input = try JSONSerialization.data(withJSONObject: item["input"]!)
            let expected = try #require(item["expected"] as? [String: Any])
            let config = try ModelConfig.parse(json: String(decoding: input, as: UTF8.self), source: "case \(i)")
            func int(_ key: String) -> Int? { (expected[key] as? NSNumber)?.intValue }
            func double(_ key: String) -> Double? { (expected[key] as? NSNumber)?.doubleValue }
            switch config {
            case .causalLM(let c):
                #expect(c.vocabSize == int("vocab_size") && c.hiddenSize == int("hidden_size"), "case \(i)")
                #expect(c.intermediateSize == int("intermediate_size") && c.layerCount == int("num_hidden_layers"), "case \(i)")
                #expect(c.headCount == int("num_attention_heads") && c.kvHeadCount == int("num_key_value_heads"), "case \(i)")
                #expect(c.headDim == int("head_dim") && c.maxPositions == int("max_position_embeddings"), "case \(i)")
                #expect(c.rmsNormEps == double("rms_norm_eps") && c.ropeTheta == double("rope_theta"), "case \(i)")
                #expect(c.tieWordEmbeddings == (expected["tie_word_embeddings"] as? Bool), "case \(i)")
                #expect(c.bosTokenId == int("bos_token_id"), "case \(i)")
                let eos = (expected["eos_token_id"] as? [NSNumber])?.map(\.intValue) ?? int("eos_token_id").map { [$0] } ?? []
                #expect(c.eosTokenIds == eos, "case \(i)")
                let ropeType = expected["rope_type"] as? String
                switch c.ropeScaling {
                case nil: #expect(ropeType == "default", "case \(i)")
                case .llama3: #expect(ropeType == "llama3", "case \(i)")
                default: Issue.record("case \(i): unexpected scaling")
                }
                #expect(c.outputBias == (expected["attention_bias"] as? Bool), "case \(i)")
                if c.family == .qwen2 { #expect(c.qkvBias) }
                if c.family == .qwen3 { #expect(c.qkvBias == c.outputBias && c.features.queryKeyNorms, "case \(i)") }
            case .bert(let b):
                #expect(b.vocabSize == int("vocab_size") && b.hiddenSize == int("hidden_size"), "case \(i)")
                #expect(b.layerCount == int("num_hidden_layers") && b.headCount == int("num_attention_heads"), "case \(i)")
                #expect(b.intermediateSize == int("intermediate_size") && b.maxPositions == int("max_position_embeddings"))
                #expect(b.layerNormEps == double("layer_norm_eps") && b.typeVocabSize == int("type_vocab_size"))
            case .deberta: Issue.record("case \(i): not a DeBERTa fixture")
            }
        }
    }

    /// Qwen3's sliding-window layers are refused naming the key, not run as full attention.
    @Test func qwen3SlidingWindowIsRefusedByName() throws {
        let json = #"{"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4, "use_sliding_window": true, "sliding_window": 8}"#
        #expect {
            try ModelConfig.parse(json: json, source: "qwen3.json")
        } throws: { error in
            "\(error)".contains("use_sliding_window") && "\(error)".contains("qwen3.json")
        }
    }

    @Test func transformersV5RopeParametersAreRead() throws {
        let config = try ModelConfig.parse(
            json:
                #"{"model_type":"llama","rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}"#,
            source: "v5")
        guard case .causalLM(let c) = config else { Issue.record("not a causal LM"); return }
        #expect(c.ropeTheta == 500000)
        #expect(c.ropeScaling == .llama3(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192))
    }

    @Test func smolLMGGUFMetadataMapsToTheSameConfig() throws {
        let path = try ModelStore().resolve("smollm2-135m-instruct", pull: false).path
        let fromGGUF = try ModelConfig.from(gguf: GGUFFile(path: path))
        guard case .causalLM(let c) = fromGGUF else { Issue.record("not a causal LM"); return }
        #expect(c.layerCount == 30 && c.hiddenSize == 576 && c.intermediateSize == 1536)
        #expect(c.headCount == 9 && c.kvHeadCount == 3 && c.headDim == 64)
        #expect(c.ropeTheta == 100000 && c.rmsNormEps == 1e-5 && c.maxPositions == 8192 && c.vocabSize == 49152)
        #expect(c.tieWordEmbeddings && !c.qkvBias)
        #expect(c.parameterCount == 134_515_008)
        // The JSON we write for checkpoints reads back as the same configuration.
        #expect(
            try ModelConfig.parse(
                json: JSONFile.encode(fromGGUF.huggingFaceConfig), source: "round trip") == .causalLM(c))
    }

    @Test(arguments: [
        (#"[1, 2]"#, "(top level): expected an object"),
        (#"{"model_type": "gpt_neox"}"#, "gpt_neox is not supported"),
        (#"{"model_type": "llama", "hidden_size": "big"}"#, "hidden_size: expected an integer"),
        (#"{"model_type": "llama", "eos_token_id": "two"}"#, "eos_token_id"),
        (#"{"model_type": "bert", "vocab_size": -3}"#, "vocab_size = -3 is out of range"),
        (#"{"model_type": "llama", "num_attention_heads": 6, "num_key_value_heads": 4, "hidden_size": 48}"#, "not a multiple"),
        (#"{"model_type": "llama", "num_hidden_layers": -1}"#, "out of range"),
        (#"{"model_type": "llama", "rope_scaling": {"rope_type": "yarn"}}"#, "yarn is not supported"),
        (#"{"model_type": "bert", "position_embedding_type": "relative_key"}"#, "relative_key is not supported"),
        // Issue 29: finite in the file, infinite in float32 where they are used.
        (#"{"model_type": "llama", "rope_theta": 1e308}"#, "rope_theta = 1e+308 must be a positive number within float32's range"),
        (#"{"model_type": "llama", "rope_scaling": {"rope_type": "linear", "factor": 1e300}}"#, "rope_scaling.factor"),
        (#"{"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": -1}}"#, "low_freq_factor"),
        (#"{"model_type": "gemma3_text", "query_pre_attn_scalar": 0}"#, "query_pre_attn_scalar"),
        (#"{"model_type": "gemma3_text", "rope_local_base_freq": 1e39}"#, "rope_local_base_freq"),
        (#"{"model_type": "bert", "layer_norm_eps": 1e308}"#, "layer_norm_eps = 1e+308 is out of range"),
    ])
    func badConfigsNameTheField(json: String, message: String) throws {
        do {
            _ = try ModelConfig.parse(json: json, source: "config.json")
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".hasPrefix("config.json"))
        }
    }

    @Test func folderWithShardedWeightsOpens() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeFile(
            folder + "/config.json",
            #"{"model_type":"llama","hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":16,"vocab_size":10}"#)
        func record(_ name: String, _ values: [Float]) -> SafeTensorsRecord {
            SafeTensorsRecord(name: name, dtype: "F32", shape: [values.count], byteCount: values.count * 4) {
                body throws(SafeTensorsError) in
                var result: Result<Void, SafeTensorsError> = .success(())
                values.withUnsafeBytes { raw in result = Result { () throws(SafeTensorsError) in try body(raw) } }
                try result.get()
            }
        }
        try SafeTensorsWriter.write([record("a", [1, 2]), record("b", [3])], to: folder + "/model-00001-of-00002.safetensors")
        try SafeTensorsWriter.write([record("c", [4, 5, 6])], to: folder + "/model-00002-of-00002.safetensors")
        try writeFile(
            folder + "/model.safetensors.index.json",
            #"{"metadata":{"total_size":24},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}"#
        )
        try writeFile(
            folder + "/tokenizer_config.json", #"{"chat_template":"{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"}"#)
        let files = try ModelFiles(path: folder)
        guard case .safetensors(let checkpoint) = files.weights else { Issue.record("not safetensors"); return }
        #expect(checkpoint.shards.count == 2)
        #expect(checkpoint.entry("c")?.shape == [3])
        let c = try #require(checkpoint.bytes(of: "c"))
        #expect(Array(c.bindMemory(to: Float.self)) == [4, 5, 6])
        #expect(try files.chatTemplate().familyName == "chatml")

        // An index naming a tensor its shard does not hold is refused, naming both.
        try writeFile(folder + "/model.safetensors.index.json", #"{"weight_map":{"zz":"model-00002-of-00002.safetensors"}}"#)
        #expect { try ModelFiles(path: folder) } throws: { "\($0)".contains("zz is in model-00002-of-00002.safetensors") }
        try writeFile(folder + "/model.safetensors.index.json", #"{"weight_map":{"a":"../escape.safetensors"}}"#)
        #expect { try ModelFiles(path: folder) } throws: { "\($0)".contains("same folder") }
    }
}

/// Python writes integers of any size; Foundation refused a whole file over one of them.
@Suite struct LongIntegerTests {
    struct Settings: Decodable {
        var limit: Double?
        var count: Int?
        var note: String?
    }

    @Test func integersPastSixtyFourBitsReadAsDoubles() throws {
        let text = #"{"limit": 1000000000000000019884624838656, "unknown": -99999999999999999999999, "note": "12345678901234567890123"}"#
        let settings = try JSONFile.decode(Settings.self, from: text, source: "s.json")
        #expect(settings.limit == 1e30)
        #expect(settings.note == "12345678901234567890123")  // inside a string: untouched
        #expect(try JSONFile.decode(Settings.self, from: #"{"count": 9223372036854775807}"#, source: "s.json").count == Int.max)
        // A field that means a count still refuses one (Foundation names no field; the reason says why).
        #expect {
            try JSONFile.decode(Settings.self, from: #"{"count": 1000000000000000019884624838656}"#, source: "s.json")
        } throws: { "\($0)".contains("s.json") && "\($0)".contains("past 64 bits") }
    }

    @Test func transformersNoLimitIsUnlimited() throws {
        let text = #"{"model_max_length": 1000000000000000019884624838656, "eos_token": "</s>"}"#
        let settings = try JSONFile.decode(TokenizerSettings.self, from: text, source: "tokenizer_config.json")
        #expect(settings.modelMaxLength == .unlimited)
        #expect(
            try JSONFile.decode(TokenizerSettings.self, from: #"{"model_max_length": 8192}"#, source: "t").modelMaxLength == .tokens(8192))
        #expect(throws: (any Error).self) { try JSONFile.decode(TokenizerSettings.self, from: #"{"model_max_length": 12.5}"#, source: "t") }
    }
}

/// Issue 31 item 8: Gemma 3's attention scale from a GGUF (fixtures by make_gguf_fixtures.py:
/// metadata only, as llama.cpp's converter writes it).
@Suite struct GemmaGGUFScaleTests {
    static let folder = configFixtures.deletingLastPathComponent().appendingPathComponent("gguf")

    func scalar(_ name: String) throws -> Double? {
        guard case .causalLM(let c) = try ModelConfig.from(gguf: GGUFFile(path: Self.folder.appendingPathComponent(name).path)) else {
            return nil
        }
        return c.gemma?.queryPreAttentionScalar
    }

    @Test func the27BScalesByHiddenOverHeadsAndAStatedScaleWins() throws {
        #expect(try scalar("gemma3-27b-shape.gguf") == 168)  // head_dim 128 would be wrong
        let stated = try #require(try scalar("gemma3-scaled.gguf"))
        #expect(Swift.abs(stated - 100) < 1e-3)  // attention.scale 0.1 (head_dim 16 otherwise)
    }
}
