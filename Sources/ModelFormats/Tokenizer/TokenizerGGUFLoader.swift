extension Tokenizer {
    /// Builds the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata:
    /// byte-level BPE (`tokenizer.ggml.model` = `gpt2`) or SentencePiece-style BPE (`llama`).
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
        guard kind == "gpt2" || kind == "llama" else {
            throw fail("tokenizer.ggml.model", "\(kind) tokenizers are not supported (gpt2: byte-level BPE, llama: SentencePiece BPE)")
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
        if kind == "llama" { return try sentencePiece(gguf: file, tokens: tokens, types: types) }
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
        let merges = try mergeTable(mergeValues, source: file.path) { l, r, rank, table in
            BPEModel.addMerge(l, r, rank: rank, ids: ids, to: &table)
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

extension Tokenizer {
    /// SentencePiece-style BPE from GGUF metadata (`tokenizer.ggml.model = llama`), built as
    /// transformers builds it: merges from the file, or else implied by the vocabulary ranked
    /// by score — for Gemma by vocabulary order, its scores do not follow the merge order,
    /// and its whitespace tokens stored with real spaces are respelt with "▁". Control tokens
    /// are special added tokens, user-defined ones (still spelt as stored) plain added tokens.
    static func sentencePiece(gguf file: GGUFFile, tokens stored: [String], types: [Int]) throws(TokenizerError) -> Tokenizer {
        let gemma = (file["general.architecture"]?.stringValue ?? "").hasPrefix("gemma")
        let tokens =
            gemma
            ? stored.map { $0.contains(" ") && $0.allSatisfy { $0 == " " } ? String(repeating: "\u{2581}", count: $0.count) : $0 } : stored
        let ids = SentencePieceBPE.exactIds(tokens)
        let merges: [UInt64: UInt64]
        if let mergeValues = file["tokenizer.ggml.merges"]?.arrayValue {
            merges = try mergeTable(mergeValues, source: file.path) { l, r, rank, table in
                SentencePieceBPE.addMerge(l, r, rank: rank, ids: ids, to: &table)
            }
        } else if gemma {
            merges = SentencePieceBPE.mergesFromVocabulary(tokens: tokens, ids: ids) { -Double($0) }
        } else {
            guard let scores = file["tokenizer.ggml.scores"]?.arrayValue?.map({ $0.doubleValue ?? 0 }), scores.count == tokens.count else {
                throw TokenizerError(
                    source: file.path, reason: "tokenizer.ggml.scores: missing or not one per token (needed without merges)")
            }
            merges = SentencePieceBPE.mergesFromVocabulary(tokens: tokens, ids: ids) { scores[$0] }
        }
        func id(_ key: String) -> Int? {
            guard let v = file["tokenizer.ggml.\(key)"]?.intValue, v >= 0, v < tokens.count else { return nil }
            return v
        }
        // llama.cpp puts "▁" in front unless the file says not to; transformers' LlamaTokenizer does so once.
        let prefix = file["tokenizer.ggml.add_space_prefix"] != .bool(false)
        let spm = SentencePieceBPE(
            tokens: tokens, ids: ids, merges: merges, byteFallback: true, unknownId: id("unknown_token_id"),
            prepend: prefix ? .first : .never, splitAtMetaspace: false, stripLeadingSpace: prefix)
        var added: [AddedToken] = []
        for (id, type) in types.enumerated() where type == 3 || (type == 4 && tokens[id] == stored[id]) {
            added.append(AddedToken(id: id, content: tokens[id], special: type == 3))
        }
        let bos = id("bos_token_id")
        let eos = id("eos_token_id")
        var single: [PostProcessor.Piece] = [.first(typeId: 0)]
        // Older files have no flag: llama.cpp (and transformers) add BOS to SentencePiece vocabularies then.
        if file["tokenizer.ggml.add_bos_token"] != .bool(false), let bos { single.insert(.special(ids: [bos], typeId: 0), at: 0) }
        if file["tokenizer.ggml.add_eos_token"] == .bool(true), let eos { single.append(.special(ids: [eos], typeId: 0)) }
        return Tokenizer(
            kind: .sentencePieceBPE, source: file.path, model: .sentencePiece(spm), tokens: tokens, addedTokens: added,
            postProcessor: PostProcessor(single: single, pair: single + [.second(typeId: 1)]), bosId: bos, eosId: eos,
            padId: id("padding_token_id"), unknownId: id("unknown_token_id"))
    }

    /// A merge table from "left right" strings, ranked by position; `add` records one merge
    /// (false when its tokens are not in the vocabulary).
    static func mergeTable(
        _ values: [GGUFValue], source: String, add: (Substring, Substring, Int, inout [UInt64: UInt64]) -> Bool
    ) throws(TokenizerError) -> [UInt64: UInt64] {
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(values.count)
        for (rank, value) in values.enumerated() {
            guard let text = value.stringValue else {
                throw TokenizerError(source: source, reason: "tokenizer.ggml.merges[\(rank)]: not a string")
            }
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, add(parts[0], parts[1], rank, &merges) else {
                throw TokenizerError(
                    source: source, reason: "tokenizer.ggml.merges[\(rank)]: \(text) is not two vocabulary tokens whose join is one")
            }
        }
        return merges
    }
}
