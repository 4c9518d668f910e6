import SafeTensors
import FileIO

extension Tokenizer {
    /// Loads a Hugging Face `tokenizer.json`. `settings` is the folder's
    /// `tokenizer_config.json` when present (names of BOS/EOS/PAD/UNK tokens).
    public static func load(tokenizerJSON path: String, settings: TokenizerSettings? = nil) throws(TokenizerError) -> Tokenizer {
        let document: JSONValue
        switch readJSONFile(path) {
        case .success(let value): document = value
        case .failure(let error): throw TokenizerError(source: path, reason: error.reason)
        }
        return try TokenizerJSONReader(path: path, document: document, settings: settings).read()
    }

    /// Loads a BERT `vocab.txt` (one token per line, id = line number) with the uncased
    /// BERT normaliser and `[CLS] … [SEP]` post-processing.
    public static func load(vocabTXT path: String, lowercase: Bool = true) throws(TokenizerError) -> Tokenizer {
        let text: String
        do { text = try AtomicFile.readText(path) } catch { throw TokenizerError(source: path, reason: error.reason) }
        var tokens: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            tokens.append(String(line.hasSuffix("\r") ? line.dropLast() : line))
        }
        if tokens.last == "" { tokens.removeLast() }
        var vocab: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() where vocab[token] == nil { vocab[token] = Int32(id) }
        func required(_ name: String) throws(TokenizerError) -> Int {
            guard let id = vocab[name] else { throw TokenizerError(source: path, reason: "the vocabulary has no \(name) token") }
            return Int(id)
        }
        let unk = try required("[UNK]")
        let cls = try required("[CLS]")
        let sep = try required("[SEP]")
        var added = [
            AddedToken(id: unk, content: "[UNK]", special: true), AddedToken(id: cls, content: "[CLS]", special: true),
            AddedToken(id: sep, content: "[SEP]", special: true),
        ]
        for name in ["[PAD]", "[MASK]"] { if let id = vocab[name] { added.append(AddedToken(id: Int(id), content: name, special: true)) } }
        let model = WordPieceModel(vocab: vocab, unknownId: Int32(unk), continuationPrefix: "##", maxCharactersPerWord: 100)
        let splitter = BertTextSplitter(stripAccents: lowercase, lowercase: lowercase)
        let post = PostProcessor(
            single: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0)],
            pair: [
                .special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0), .second(typeId: 1),
                .special(ids: [sep], typeId: 1),
            ])
        return Tokenizer(
            kind: .wordPiece, source: path, model: .wordPiece(model, splitter), tokens: tokens, addedTokens: added,
            postProcessor: post, bosId: nil, eosId: nil, padId: vocab["[PAD]"].map(Int.init), unknownId: unk)
    }
}

/// Reads the parts of a `tokenizer.json`, each error naming the JSON path of the field.
struct TokenizerJSONReader {
    let path: String
    let document: JSONValue
    let settings: TokenizerSettings?

    func fail(_ field: String, _ reason: String) -> TokenizerError {
        TokenizerError(source: path, reason: "\(field): \(reason)")
    }

    func read() throws(TokenizerError) -> Tokenizer {
        guard case .object = document else { throw fail("(top level)", "expected a JSON object") }
        guard let model = document["model"], case .object = model else { throw fail("model", "missing or not an object") }
        let added = try addedTokens()
        let type = model["type"]?.stringValue ?? (model["merges"] != nil ? "BPE" : "WordPiece")
        let tokenizer: Tokenizer
        switch type {
        case "BPE": tokenizer = try bpe(model, added: added)
        case "WordPiece": tokenizer = try wordPiece(model, added: added)
        case "Unigram": tokenizer = try unigram(model, added: added)
        default: throw fail("model.type", "\(type) models are not supported (BPE, Unigram and WordPiece are)")
        }
        return tokenizer
    }

    func addedTokens() throws(TokenizerError) -> [AddedToken] {
        guard let list = document["added_tokens"], !list.isNull else { return [] }
        guard let items = list.arrayValue else { throw fail("added_tokens", "expected an array") }
        var out: [AddedToken] = []
        for (i, item) in items.enumerated() {
            guard let id = item["id"]?.intValue, id >= 0, id < 1 << 31, let content = item["content"]?.stringValue else {
                throw fail("added_tokens[\(i)]", "needs an integer id and a string content")
            }
            out.append(
                AddedToken(
                    id: id, content: content, special: item["special"]?.boolValue ?? false,
                    leftStrip: item["lstrip"]?.boolValue ?? false, rightStrip: item["rstrip"]?.boolValue ?? false,
                    normalized: item["normalized"]?.boolValue ?? false))
        }
        return out
    }

    func vocabulary(_ model: JSONValue) throws(TokenizerError) -> [String] {
        guard let members = model["vocab"]?.objectValue else { throw fail("model.vocab", "missing or not an object") }
        var tokens: [String] = []
        var maxId = -1
        for (_, value) in members {
            guard let id = value.intValue, id >= 0, id < 1 << 31 else { throw fail("model.vocab", "ids must be non-negative integers") }
            maxId = max(maxId, id)
        }
        guard maxId < members.count * 4 + 1024 else {
            throw fail("model.vocab", "id \(maxId) is far beyond the vocabulary size \(members.count)")
        }
        tokens = [String](repeating: "", count: maxId + 1)
        for (token, value) in members { tokens[value.intValue ?? 0] = token }
        return tokens
    }

    func bpe(_ model: JSONValue, added: [AddedToken]) throws(TokenizerError) -> Tokenizer {
        if model["byte_fallback"]?.boolValue == true || document["pre_tokenizer"]?["type"]?.stringValue == "Metaspace" {
            return try sentencePiece(model, added: added)
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key]?.stringValue, !v.isEmpty { throw fail("model.\(key)", "not supported for byte-level BPE") }
        }
        let tokens = try vocabulary(model)
        var byteLevel = false
        var pipeline = ByteLevelPipeline()
        if let normalizer = document["normalizer"], !normalizer.isNull { pipeline.nfc = try nfcNormalizer(normalizer, field: "normalizer") }
        if let pre = document["pre_tokenizer"], !pre.isNull {
            try preTokenizer(pre, field: "pre_tokenizer", first: true, into: &pipeline, byteLevel: &byteLevel)
        }
        guard byteLevel else {
            throw fail("pre_tokenizer", "no ByteLevel step: only byte-level BPE is supported (SentencePiece/Metaspace BPE is not)")
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where !token.isEmpty { ids[token] = Int32(id) }
        let byteIds = (0..<256).map { ids[String(ByteLevelAlphabet.character[$0])] ?? -1 }
        guard byteIds.filter({ $0 >= 0 }).count >= 128 else {
            throw fail("model.vocab", "fewer than half of the 256 bytes have a token: not a byte-level vocabulary")
        }
        var merges: [UInt64: UInt64] = [:]
        for (rank, pair) in try mergePairs(model).enumerated() {
            guard BPEModel.addMerge(pair.0, pair.1, rank: rank, ids: ids, to: &merges) else {
                throw fail("model.merges[\(rank)]", "\(pair.0) \(pair.1) uses a token that is not in the vocabulary")
            }
        }
        let whole = model["ignore_merges"]?.boolValue == true ? ids : nil
        let bpe = BPEModel(byteIds: byteIds, merges: merges, wholePieces: whole)
        let special = specialTokenIds(tokens: tokens, added: added)
        return Tokenizer(
            kind: .byteLevelBPE, source: path, model: .bpe(bpe, pipeline), tokens: tokens, addedTokens: added,
            postProcessor: try postProcessor(tokens: tokens, added: added), bosId: special.bos, eosId: special.eos,
            padId: special.pad, unknownId: special.unk)
    }

    func nfcNormalizer(_ value: JSONValue, field: String) throws(TokenizerError) -> Bool {
        switch value["type"]?.stringValue {
        case "NFC": return true
        case "Sequence":
            guard let list = value["normalizers"]?.arrayValue else { throw fail("\(field).normalizers", "expected an array") }
            var nfc = false
            for (i, item) in list.enumerated() { nfc = try nfcNormalizer(item, field: "\(field).normalizers[\(i)]") || nfc }
            return nfc
        case let other:
            throw fail("\(field).type", "normaliser \(other ?? "(none)") is not supported for byte-level BPE (NFC is)")
        }
    }

    func preTokenizer(
        _ value: JSONValue, field: String, first: Bool, into pipeline: inout ByteLevelPipeline, byteLevel: inout Bool
    ) throws(TokenizerError) {
        switch value["type"]?.stringValue {
        case "Sequence":
            guard let list = value["pretokenizers"]?.arrayValue else { throw fail("\(field).pretokenizers", "expected an array") }
            for (i, item) in list.enumerated() {
                try preTokenizer(
                    item, field: "\(field).pretokenizers[\(i)]", first: first && i == 0, into: &pipeline, byteLevel: &byteLevel)
            }
        case "ByteLevel":
            byteLevel = true
            if value["add_prefix_space"]?.boolValue == true {
                guard first else { throw fail("\(field).add_prefix_space", "supported only on the first pre-tokenizer step") }
                pipeline.addPrefixSpace = true
            }
            if value["use_regex"]?.boolValue ?? true { pipeline.steps.append(.split(.gpt2)) }
        case "Split":
            guard let regex = value["pattern"]?["Regex"]?.stringValue ?? value["pattern"]?["String"]?.stringValue else {
                throw fail("\(field).pattern", "expected {\"Regex\": …}")
            }
            guard let pattern = SplitPattern(regex: regex) else {
                throw fail("\(field).pattern", "unknown split regex \(regex); known: GPT-2, Llama 3, Qwen2")
            }
            let behavior = value["behavior"]?.stringValue ?? "Isolated"
            guard behavior == "Isolated", value["invert"]?.boolValue != true else {
                throw fail("\(field).behavior", "only Isolated, non-inverted splits are supported (got \(behavior))")
            }
            pipeline.steps.append(.split(pattern))
        case "Digits":
            pipeline.steps.append(.digits(individual: value["individual_digits"]?.boolValue ?? false))
        case let other:
            throw fail("\(field).type", "pre-tokenizer \(other ?? "(none)") is not supported for byte-level BPE")
        }
    }

    func wordPiece(_ model: JSONValue, added: [AddedToken]) throws(TokenizerError) -> Tokenizer {
        let tokens = try vocabulary(model)
        var vocab: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() where !token.isEmpty { vocab[token] = Int32(id) }
        let unkName = model["unk_token"]?.stringValue ?? "[UNK]"
        guard let unk = vocab[unkName] else { throw fail("model.unk_token", "\(unkName) is not in the vocabulary") }
        var splitter = BertTextSplitter()
        if let normalizer = document["normalizer"], !normalizer.isNull {
            guard normalizer["type"]?.stringValue == "BertNormalizer" else {
                throw fail(
                    "normalizer.type", "\(normalizer["type"]?.stringValue ?? "(none)") is not supported for WordPiece (BertNormalizer is)")
            }
            splitter.cleanText = normalizer["clean_text"]?.boolValue ?? true
            splitter.handleChineseCharacters = normalizer["handle_chinese_chars"]?.boolValue ?? true
            splitter.lowercase = normalizer["lowercase"]?.boolValue ?? true
            splitter.stripAccents = normalizer["strip_accents"]?.boolValue ?? splitter.lowercase
        } else {
            splitter = BertTextSplitter(cleanText: false, handleChineseCharacters: false, stripAccents: false, lowercase: false)
        }
        if let pre = document["pre_tokenizer"], !pre.isNull, pre["type"]?.stringValue != "BertPreTokenizer" {
            throw fail("pre_tokenizer.type", "\(pre["type"]?.stringValue ?? "(none)") is not supported for WordPiece (BertPreTokenizer is)")
        }
        let wp = WordPieceModel(
            vocab: vocab, unknownId: unk, continuationPrefix: model["continuing_subword_prefix"]?.stringValue ?? "##",
            maxCharactersPerWord: model["max_input_chars_per_word"]?.intValue ?? 100)
        let special = specialTokenIds(tokens: tokens, added: added)
        return Tokenizer(
            kind: .wordPiece, source: path, model: .wordPiece(wp, splitter), tokens: tokens, addedTokens: added,
            postProcessor: try postProcessor(tokens: tokens, added: added), bosId: special.bos, eosId: special.eos,
            padId: special.pad ?? vocab["[PAD]"].map(Int.init), unknownId: Int(unk))
    }

    /// BOS/EOS/PAD/UNK from tokenizer_config.json (strings or {"content": …} objects).
    func specialTokenIds(tokens: [String], added: [AddedToken]) -> (bos: Int?, eos: Int?, pad: Int?, unk: Int?) {
        func lookup(_ token: TokenizerSettings.TokenName?) -> Int? {
            guard let name = token?.content else { return nil }
            return added.first { $0.content == name }?.id ?? tokens.firstIndex(of: name)
        }
        return (lookup(settings?.bosToken), lookup(settings?.eosToken), lookup(settings?.padToken), lookup(settings?.unkToken))
    }

    func postProcessor(tokens: [String], added: [AddedToken]) throws(TokenizerError) -> PostProcessor {
        guard let value = document["post_processor"], !value.isNull else { return .none }
        return try postProcessor(value, field: "post_processor", tokens: tokens, added: added) ?? .none
    }

    private func postProcessor(_ value: JSONValue, field: String, tokens: [String], added: [AddedToken]) throws(TokenizerError)
        -> PostProcessor?
    {
        func idOf(_ name: String) -> Int? { added.first { $0.content == name }?.id ?? tokens.firstIndex(of: name) }
        switch value["type"]?.stringValue {
        case "ByteLevel": return nil
        case "Sequence":
            guard let list = value["processors"]?.arrayValue else { throw fail("\(field).processors", "expected an array") }
            var result: PostProcessor?
            for (i, item) in list.enumerated() {
                if let p = try postProcessor(item, field: "\(field).processors[\(i)]", tokens: tokens, added: added) { result = p }
            }
            return result
        case "BertProcessing", "RobertaProcessing":
            guard let cls = value["cls"]?.arrayValue, cls.count == 2, let clsId = cls[1].intValue,
                let sep = value["sep"]?.arrayValue, sep.count == 2, let sepId = sep[1].intValue
            else { throw fail(field, "expected cls and sep as [token, id]") }
            let roberta = value["type"]?.stringValue == "RobertaProcessing"
            return PostProcessor(
                single: [.special(ids: [clsId], typeId: 0), .first(typeId: 0), .special(ids: [sepId], typeId: 0)],
                pair: roberta
                    ? [
                        .special(ids: [clsId], typeId: 0), .first(typeId: 0), .special(ids: [sepId, sepId], typeId: 0),
                        .second(typeId: 0), .special(ids: [sepId], typeId: 0),
                    ]
                    : [
                        .special(ids: [clsId], typeId: 0), .first(typeId: 0), .special(ids: [sepId], typeId: 0),
                        .second(typeId: 1), .special(ids: [sepId], typeId: 1),
                    ])
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let members = value["special_tokens"]?.objectValue {
                for (name, entry) in members {
                    guard let ids = entry["ids"]?.arrayValue?.compactMap(\.intValue) else {
                        throw fail("\(field).special_tokens.\(name)", "expected ids")
                    }
                    specials[name] = ids
                }
            }
            func pieces(_ key: String) throws(TokenizerError) -> [PostProcessor.Piece] {
                guard let list = value[key]?.arrayValue else { throw fail("\(field).\(key)", "expected an array") }
                var out: [PostProcessor.Piece] = []
                for (i, item) in list.enumerated() {
                    if let s = item["SpecialToken"] {
                        guard let name = s["id"]?.stringValue, let ids = specials[name] ?? idOf(name).map({ [$0] }) else {
                            throw fail("\(field).\(key)[\(i)]", "unknown special token")
                        }
                        out.append(.special(ids: ids, typeId: s["type_id"]?.intValue ?? 0))
                    } else if let s = item["Sequence"] {
                        let type = s["type_id"]?.intValue ?? 0
                        out.append(s["id"]?.stringValue == "B" ? .second(typeId: type) : .first(typeId: type))
                    } else {
                        throw fail("\(field).\(key)[\(i)]", "expected SpecialToken or Sequence")
                    }
                }
                return out
            }
            return PostProcessor(single: try pieces("single"), pair: try pieces("pair"))
        case let other:
            throw fail("\(field).type", "post-processor \(other ?? "(none)") is not supported")
        }
    }

    // MARK: SentencePiece-style BPE

    /// Gemma (normaliser `Replace(" ", "▁")`), Llama 2 / Mistral v0.1 (`Prepend("▁")` and
    /// `Replace`, a `Strip` decoder) and the `Metaspace` form transformers writes today.
    func sentencePiece(_ model: JSONValue, added: [AddedToken]) throws(TokenizerError) -> Tokenizer {
        let tokens = try vocabulary(model)
        let ids = SentencePieceBPE.exactIds(tokens)
        var merges: [UInt64: UInt64] = [:]
        for (rank, pair) in try mergePairs(model).enumerated() {
            guard SentencePieceBPE.addMerge(pair.0, pair.1, rank: rank, ids: ids, to: &merges) else {
                throw fail("model.merges[\(rank)]", "\(pair.0) \(pair.1) uses a token that is not in the vocabulary")
            }
        }
        var prepend = SentencePieceBPE.Prepend.never
        var split = false
        if let normalizer = document["normalizer"], !normalizer.isNull {
            prepend = try metaspaceNormalizer(normalizer, field: "normalizer")
        }
        let normalizerPrepends = prepend == .always
        if let pre = document["pre_tokenizer"], !pre.isNull {
            switch pre["type"]?.stringValue {
            case "Metaspace":
                guard pre["replacement"]?.stringValue ?? "\u{2581}" == "\u{2581}" else {
                    throw fail("pre_tokenizer.replacement", "only \"\u{2581}\" is supported")
                }
                let scheme = pre["prepend_scheme"]?.stringValue ?? (pre["add_prefix_space"]?.boolValue == false ? "never" : "always")
                guard let parsed = SentencePieceBPE.Prepend(rawValue: scheme) else {
                    throw fail("pre_tokenizer.prepend_scheme", "\(scheme) is not first, always or never")
                }
                prepend = parsed
                split = pre["split"]?.boolValue ?? true
            case "Split" where pre["pattern"]?["String"]?.stringValue == " " && pre["behavior"]?.stringValue == "MergedWithPrevious":
                break  // Gemma's: after the normaliser turned spaces into "▁" it never splits.
            case let other:
                throw fail("pre_tokenizer.type", "\(other ?? "(none)") is not supported for SentencePiece BPE (Metaspace is)")
            }
        }
        let unknownName = model["unk_token"]?.stringValue
        let special = specialTokenIds(tokens: tokens, added: added)
        let unknown = special.unk ?? unknownName.flatMap { ids[Array($0.utf8)] }.map(Int.init)
        var spm = SentencePieceBPE(
            tokens: tokens, ids: ids, merges: merges, byteFallback: model["byte_fallback"]?.boolValue == true, unknownId: unknown,
            prepend: prepend, splitAtMetaspace: split, stripLeadingSpace: decoderSteps.contains(where: Self.stripsLeadingSpace))
        spm.prefixFromNormalizer = normalizerPrepends
        spm.byteFallbackDecoding = decoderSteps.contains { $0["type"]?.stringValue == "ByteFallback" }
        return Tokenizer(
            kind: .sentencePieceBPE, source: path, model: .sentencePiece(spm), tokens: tokens, addedTokens: added,
            postProcessor: try postProcessor(tokens: tokens, added: added), bosId: special.bos, eosId: special.eos,
            padId: special.pad, unknownId: unknown)
    }

    /// `merges` as "a b" strings or [a, b] pairs, in rank order.
    func mergePairs(_ model: JSONValue) throws(TokenizerError) -> [(Substring, Substring)] {
        guard let list = model["merges"]?.arrayValue else { throw fail("model.merges", "missing or not an array") }
        var pairs: [(Substring, Substring)] = []
        pairs.reserveCapacity(list.count)
        for (rank, entry) in list.enumerated() {
            if let text = entry.stringValue {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw fail("model.merges[\(rank)]", "expected two tokens separated by one space") }
                pairs.append((parts[0], parts[1]))
            } else if let items = entry.arrayValue, items.count == 2, let a = items[0].stringValue, let b = items[1].stringValue {
                pairs.append((a[...], b[...]))
            } else {
                throw fail("model.merges[\(rank)]", "expected \"a b\" or [\"a\", \"b\"]")
            }
        }
        return pairs
    }

    /// The prefix rule a metaspace normaliser states: `Replace(" ", "▁")` alone (never), or
    /// with `Prepend("▁")` (always, on every stretch of text).
    func metaspaceNormalizer(_ value: JSONValue, field: String) throws(TokenizerError) -> SentencePieceBPE.Prepend {
        switch value["type"]?.stringValue {
        case "Sequence":
            guard let list = value["normalizers"]?.arrayValue else { throw fail("\(field).normalizers", "expected an array") }
            var prepend = SentencePieceBPE.Prepend.never
            for (i, item) in list.enumerated() where try metaspaceNormalizer(item, field: "\(field).normalizers[\(i)]") == .always {
                prepend = .always
            }
            return prepend
        case "Prepend" where value["prepend"]?.stringValue == "\u{2581}": return .always
        case "Replace" where value["pattern"]?["String"]?.stringValue == " " && value["content"]?.stringValue == "\u{2581}": return .never
        case let other:
            throw fail(
                "\(field).type",
                "normaliser \(other ?? "(none)") is not supported for SentencePiece BPE (Replace \" \"→\"\u{2581}\", Prepend \"\u{2581}\")")
        }
    }

    /// The decoder's steps (a `Sequence`'s, or the one).
    var decoderSteps: [JSONValue] {
        guard let decoder = document["decoder"], !decoder.isNull else { return [] }
        return decoder["type"]?.stringValue == "Sequence" ? decoder["decoders"]?.arrayValue ?? [] : [decoder]
    }

    /// A decoder step that drops the space the prefix added: a `Strip` of a leading space,
    /// or a `Metaspace` decoder with a prefix scheme.
    static func stripsLeadingSpace(_ step: JSONValue) -> Bool {
        switch step["type"]?.stringValue {
        case "Strip": (step["start"]?.intValue ?? 0) > 0
        case "Metaspace": (step["prepend_scheme"]?.stringValue ?? "always") != "never" && step["add_prefix_space"]?.boolValue != false
        default: false
        }
    }
}
