import Foundation
import ModelFormats
import ModelStore
import SafeTensors
import Testing
import Torch

@testable import Transformers

/// Fixtures written by scripts/fixtures/make_model_fixtures.py (transformers, fp32).
let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/models")

func fixtureTensors(_ name: String) throws -> [String: Tensor] {
    try TensorFile.load(from: modelFixtures.appendingPathComponent(name).path).tensors
}

func floats(_ t: Tensor) throws -> [Float] { try t.to(.float32).contiguous().toArray(Float.self) }
func ints(_ t: Tensor) throws -> [Int] { try t.to(.int64).contiguous().toArray(Int64.self).map { Int($0) } }

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// SmolLM2 loaded once for the tests that need it (loading dequantizes 134.5 M values).
enum SmolLM {
    static let files: ModelFiles? = {
        guard let path = try? ModelStore().resolve("smollm2-135m-instruct", pull: false).path else { return nil }
        return try? ModelFiles(path: path)
    }()
    static let model: CausalLM? = files.flatMap { try? CausalLM.load($0) }
    static let tokenizer: Tokenizer? = files.flatMap { try? $0.loadTokenizer() }
}

@Suite struct CausalLMTests {
    /// Random-weight checkpoints from transformers: a batch of two left-padded sequences,
    /// logits at every real position within 1e-4.
    @Test(arguments: ["tiny-qwen2", "tiny-llama3", "tiny-gemma3", "tiny-mistral", "tiny-qwen3"])
    func tinyCheckpointLogitsMatchTransformers(name: String) throws {
        let files = try ModelFiles(path: modelFixtures.appendingPathComponent(name).path)
        let model = try CausalLM.load(files)
        let expected = try fixtureTensors("\(name)-logits.safetensors")
        let ids = try #require(expected["input_ids"])
        let mask = try #require(expected["attention_mask"])
        let valid = try mask.eq(1)
        let positions = try (mask.cumsum(dim: 1) - 1.0).clamp(min: 0).to(.int64)
        let logits = try withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: valid)) }
        let want = try #require(expected["logits"])
        let maskArray = try ints(mask)
        let vocab = model.config.vocabSize
        let got = try floats(logits)
        let reference = try floats(want)
        var worst: Float = 0
        for (slot, m) in maskArray.enumerated() where m == 1 {
            let range = (slot * vocab)..<((slot + 1) * vocab)
            worst = max(worst, maxDifference(Array(got[range]), Array(reference[range])))
        }
        #expect(worst <= 1e-4, "max |Δlogit| = \(worst)")
    }

    /// Weights that decode to NaN (a doctored file whose header still checks out) are an
    /// error naming the model at load, not NaN log-probs and token 0 later.
    @Test func nanWeightsAreRefusedAtLoad() throws {
        let source = modelFixtures.appendingPathComponent("tiny-llama3").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-nan-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: source, toPath: folder)
        let path = folder + "/model.safetensors"
        let entry = try #require(try SafeTensorsFile(path: path).entries.first { $0.name == "model.norm.weight" })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let start = 8 + headerLength + entry.dataOffsets.lowerBound
        for k in stride(from: start, to: 8 + headerLength + entry.dataOffsets.upperBound, by: 4) {
            bytes.replaceSubrange(k..<k + 4, with: [0x00, 0x00, 0xC0, 0x7F])  // float32 NaN
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try CausalLM.load(ModelFiles(path: folder)) } throws: { "\($0)".contains(folder) && "\($0)".contains("NaN") }
    }

    @Test func tinyQwenHasBiasesAndLlamaHasScaledRope() throws {
        let qwen = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-qwen2").path))
        #expect(qwen.config.qkvBias && qwen.config.tieWordEmbeddings)
        let llama = try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path))
        guard case .llama3 = llama.config.ropeScaling else {
            Issue.record("expected Llama 3 scaling")
            return
        }
        #expect(llama.config.outputBias && llama.config.mlpBias && !llama.config.tieWordEmbeddings)
    }

    /// SmolLM2 from its GGUF against transformers on 5 prompts: sampled logits of every
    /// position within 1e-3, and the same argmax.
    @Test func smolLMLogitsMatchTransformers() throws {
        let model = try #require(SmolLM.model)
        let expected = try fixtureTensors("smollm2-logits.safetensors")
        let sample = try #require(expected["sample_ids"])
        for p in 0..<5 {
            let ids = try #require(expected["p\(p).ids"]).unsqueeze(0)
            let time = ids.shape[1]
            let positions = try Tensor.arange(.int(time)).unsqueeze(0)
            let logits = try withNoGrad { try model.logits(model.hiddenStates(ids: ids, positions: positions, valid: nil)) }.squeeze(0)
            let sampled = try logits.indexSelect(dim: 1, index: sample)
            let difference = maxDifference(try floats(sampled), try floats(#require(expected["p\(p).sampled"])))
            let top = try logits.gather(dim: 1, index: #require(expected["p\(p).top_ids"]))
            let topDifference = maxDifference(try floats(top), try floats(#require(expected["p\(p).top_logits"])))
            let lse = maxDifference(try floats(logits.logsumexp(dims: [1])), try floats(#require(expected["p\(p).logsumexp"])))
            #expect(max(difference, topDifference, lse) <= 1e-3, "prompt \(p): sampled \(difference), top \(topDifference), lse \(lse)")
            #expect(try ints(logits.argmax(dim: 1)) == ints(#require(expected["p\(p).argmax"])), "prompt \(p)")
        }
    }
}
