import Foundation
import ModelFormats
import Testing
import Torch

@testable import Transformers

/// Folders whose weights are a `pytorch_model.bin` (torch.save, read without running its
/// pickle): the same models as the safetensors fixtures, the same outputs (fixtures by
/// scripts/fixtures/make_pickle_fixtures.py).
@Suite struct PyTorchWeightsTests {
    static let pickle = modelFixtures.deletingLastPathComponent().appendingPathComponent("pickle")

    @Test func aCausalLMFromPytorchModelBinEqualsItsSafetensorsTwin() throws {
        let bin = try ModelFiles(path: Self.pickle.appendingPathComponent("tiny-llama3-bin").path)
        #expect(bin.summary().format == "pytorch")
        let (a, b) = (try CausalLM.load(bin), try CausalLM.load(ModelFiles(path: modelFixtures.appendingPathComponent("tiny-llama3").path)))
        let ids = try Tensor((0..<12).map { Int64($0 * 7 % 50) }, shape: [1, 12])
        let positions = try Tensor.arange(.int(12)).unsqueeze(0)
        let (x, y) = try withNoGrad {
            (
                try a.logits(a.hiddenStates(ids: ids, positions: positions, valid: nil)),
                try b.logits(b.hiddenStates(ids: ids, positions: positions, valid: nil))
            )
        }
        #expect(try floats((x - y).abs().amax())[0] == 0)
    }

    /// The encoders BERTScore uses (microsoft/deberta-v3-large ships only a .bin): hidden
    /// states against transformers', as the safetensors RoBERTa is checked.
    @Test func anEncoderFromPytorchModelBinMatchesTransformers() throws {
        let encoder = try BertEncoder.load(ModelFiles(path: Self.pickle.appendingPathComponent("tiny-roberta-bin").path))
        let expected = try fixtureTensors("tiny-roberta-hidden.safetensors")
        let mask = try #require(expected["attention_mask"])
        let states = try withNoGrad { try encoder.hiddenStates(ids: #require(expected["input_ids"]), mask: mask) }
        try BertEncoderTests.expectSameStates(states, expected, mask: mask, hidden: encoder.config.hiddenSize)
    }
}
