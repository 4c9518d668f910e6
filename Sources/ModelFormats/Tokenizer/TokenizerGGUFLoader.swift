extension Tokenizer {
    /// Builds the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata
    /// (byte-level BPE, `tokenizer.ggml.model` = `gpt2`).
    ///
    /// Control tokens (type 3) become special added tokens and user-defined ones (type 4)
    /// plain added tokens, as llama.cpp and transformers treat them. The split regex comes
    /// from `tokenizer.ggml.pre`; `smollm` is SmolLM's upstream pre-tokenizer (each digit
    /// alone, then GPT-2's regex), `llama3`-style names use Llama 3's regex with whole-word
    /// lookup (`ignore_merges`), `qwen2` Qwen2's.
    public static func load(gguf file: GGUFFile) throws(TokenizerError) -> Tokenizer {
        func fail(_ key: String, _ reason: String) -> TokenizerError {
            TokenizerError(source: file.path, reason: "\(key): \(reason)")
        }
        let kind = file["tokenizer.ggml.model"]?.stringValue ?? "(missing)"
        guard kind == "gpt2" else {
            throw fail("tokenizer.ggml.model", "\(kind) tokenizers are not supported (gpt2, i.e. byte-level BPE, is)")
        }
        guard let tokenValues = file["tokenizer.ggml.tokens"]?.arrayValue else { throw fail("tokenizer.ggml.tokens", "missing") }
        var tokens: [String] = []
        tokens.reserveCapacity(tokenValues.count)
        for (i, value) in tokenValues.enumerated() {
            guard let token = value.stringValue else { throw fail("tokenizer.ggml.tokens[\(i)]", "not a string") }
            tokens.append(token)
        }
        let types = file["tokenizer.ggml.token_type"]?.arrayValue?.map { $0.intValue ?? 1 } ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type", "\(types.count) entries for \(tokens.count) tokens")
        }
        // The vocabulary spelt in the byte alphabet (a token using other characters is respelt).
        var spelled = tokens
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if ByteLevelAlphabet.bytes(of: token) == nil { spelled[id] = ByteLevelAlphabet.spell(token.utf8) }
            if ids[spelled[id]] == nil { ids[spelled[id]] = Int32(id) }
        }
        let byteIds = (0..<256).map { ids[String(ByteLevelAlphabet.character[$0])] ?? -1 }
        guard byteIds.filter({ $0 >= 0 }).count >= 128 else {
            throw fail("tokenizer.ggml.tokens", "fewer than half of the 256 bytes have a token: not a byte-level vocabulary")
        }
        guard let mergeValues = file["tokenizer.ggml.merges"]?.arrayValue else { throw fail("tokenizer.ggml.merges", "missing") }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeValues.count)
        for (rank, value) in mergeValues.enumerated() {
            guard let text = value.stringValue else { throw fail("tokenizer.ggml.merges[\(rank)]", "not a string") }
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, BPEModel.addMerge(parts[0], parts[1], rank: rank, ids: ids, to: &merges) else {
                throw fail("tokenizer.ggml.merges[\(rank)]", "\(text) is not two vocabulary tokens whose join is one")
            }
        }
        let pre = file["tokenizer.ggml.pre"]?.stringValue ?? "default"
        var pipeline = ByteLevelPipeline()
        var ignoreMerges = false
        switch pre {
        case "default", "gpt-2", "gpt2", "starcoder", "refact", "olmo":
            pipeline.steps = [.split(.gpt2)]
        case "smollm":
            pipeline.steps = [.digits(individual: true), .split(.gpt2)]
        case "llama3", "llama-v3", "llama-bpe", "smaug-bpe", "falcon3", "dbrx", "pixtral":
            pipeline.steps = [.split(.llama3)]
            ignoreMerges = true
        case "qwen2", "deepseek-r1-qwen":
            pipeline.steps = [.split(.qwen2)]
            pipeline.nfc = true
        default:
            throw fail("tokenizer.ggml.pre", "pre-tokenizer \(pre) is not supported (known: smollm, gpt2, llama3, qwen2 and their aliases)")
        }
        var added: [AddedToken] = []
        for (id, type) in types.enumerated() where type == 3 || type == 4 {
            // A control token spelt outside the byte alphabet is a converter mislabel (transformers skips it too).
            if type == 3 && ByteLevelAlphabet.bytes(of: tokens[id]) == nil { continue }
            added.append(AddedToken(id: id, content: tokens[id], special: type == 3))
        }
        func id(_ key: String) -> Int? {
            guard let v = file["tokenizer.ggml.\(key)"]?.intValue, v >= 0, v < tokens.count else { return nil }
            return v
        }
        let bos = id("bos_token_id")
        let eos = id("eos_token_id")
        var single: [PostProcessor.Piece] = [.first(typeId: 0)]
        if file["tokenizer.ggml.add_bos_token"] == .bool(true), let bos { single.insert(.special(ids: [bos], typeId: 0), at: 0) }
        if file["tokenizer.ggml.add_eos_token"] == .bool(true), let eos { single.append(.special(ids: [eos], typeId: 0)) }
        let post = PostProcessor(single: single, pair: single + [.second(typeId: 1)])
        let bpe = BPEModel(byteIds: byteIds, merges: merges, wholePieces: ignoreMerges ? ids : nil)
        return Tokenizer(
            kind: .byteLevelBPE, source: file.path, model: .bpe(bpe, pipeline), tokens: spelled, addedTokens: added,
            postProcessor: post, bosId: bos, eosId: eos, padId: id("padding_token_id"), unknownId: id("unknown_token_id"))
    }
}
