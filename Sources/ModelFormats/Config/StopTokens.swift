#if canImport(Glibc)
    import Glibc
#endif

/// The token ids that end a reply, gathered from every place a model folder names them, each
/// with where it came from (`iap models inspect` shows them).
///
/// A chat model's turn end is often named in one place only: google/gemma-3-12b-it is a
/// multimodal `Gemma3ForConditionalGeneration` folder whose `eos_token_id: [1, 106]`
/// (`<end_of_turn>` is 106) stands at the top level of config.json, while its `text_config`
/// keeps the default 1; `generation_config.json` lists both. transformers' `generate` stops at
/// generation_config.json's ids; reading only `text_config` runs every reply to its budget.
/// So the union is taken: config.json's top level, its `text_config`, generation_config.json
/// (and, at generation time, the tokenizer's eos token).
public struct StopTokens: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: Int
        /// `config.json`, `config.json text_config`, `generation_config.json`, `gguf metadata`,
        /// or `default of model_type …` when no file names one.
        public var from: [String]
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// The ids in the order first named.
    public var ids: [Int] { entries.map(\.id) }

    public mutating func add(_ ids: [Int], from source: String) {
        for id in ids {
            if let k = entries.firstIndex(where: { $0.id == id }) {
                if !entries[k].from.contains(source) { entries[k].from.append(source) }
            } else {
                entries.append(Entry(id: id, from: [source]))
            }
        }
    }

    /// Those a Hugging Face folder names: config.json (`document`, top level and `text_config`)
    /// and `generation_config.json` when the folder has one.
    static func named(inFolder folder: String, config document: HuggingFaceConfig) throws(ModelFileError) -> StopTokens {
        var stops = StopTokens()
        stops.add(document.eosTokenId?.ids ?? [], from: "config.json")
        stops.add(document.textConfig?.value.eosTokenId?.ids ?? [], from: "config.json text_config")
        let generation = folder + "/generation_config.json"
        if access(generation, F_OK) == 0 {
            stops.add(try readJSON(GenerationConfigJSON.self, generation).eosTokenId?.ids ?? [], from: "generation_config.json")
        }
        return stops
    }
}

/// `generation_config.json`: the keys we read (the stop ids; sampling defaults are the
/// caller's, as the paper's settings are).
struct GenerationConfigJSON: Codable {
    var eosTokenId: HuggingFaceConfig.TokenIDs?
    enum CodingKeys: String, CodingKey { case eosTokenId = "eos_token_id" }
}

extension ModelConfig {
    /// A causal LM's stop ids replaced by `stops` (every place the folder names one); when no
    /// file names any, the model type's default stays and `stops` records it as such.
    func stopping(at stops: inout StopTokens) -> ModelConfig {
        guard case .causalLM(var c) = self else { return self }
        if stops.entries.isEmpty {
            stops.add(c.eosTokenIds, from: "default of model_type \(c.family.rawValue)")
        } else {
            c.eosTokenIds = stops.ids
        }
        return .causalLM(c)
    }
}
