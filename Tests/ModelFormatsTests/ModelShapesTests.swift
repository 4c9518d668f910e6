import ModelFormats
import Testing

/// The named shapes have the sizes their model cards publish (the parameter counts of the
/// released checkpoints; Gemma 3 12B's text decoder alone).
struct ModelShapesTests {
    @Test(arguments: [
        ("qwen2.5-0.5b", 494_032_768), ("qwen2.5-1.5b", 1_543_714_304), ("qwen2.5-7b", 7_615_616_512), ("llama-3.2-1b", 1_235_814_400),
        ("llama-3.1-8b", 8_030_261_248), ("mistral-small-24b", 23_572_403_200), ("gemma3-12b", 11_766_034_176),
    ])
    func parameterCountsAreThePublishedOnes(name: String, parameters: Int) throws {
        let config = try #require(try ModelShapes.config(named: name))
        #expect(config.parameterCount == parameters)
    }

    @Test func gemmaSlidesFiveLayersOfSix() throws {
        let config = try #require(try ModelShapes.config(named: "gemma3-12b"))
        #expect(config.slidingWindow == 1024 && config.slidingLayers.filter { $0 }.count == 40 && config.eosTokenIds == [1, 106])
        #expect(try ModelShapes.config(named: "gpt-5") == nil)
    }
}
