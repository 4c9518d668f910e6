import FileIO
import JSONFiles

extension Tokenizer {
    /// A DeBERTa-v2/v3 tokenizer from the folder's SentencePiece model (`spm.model`;
    /// microsoft/deberta-v3-large ships no tokenizer.json), tokenizing as the sentencepiece
    /// library does — which is what bert_score ran under transformers 4 (its slow
    /// `DebertaV2Tokenizer` hands each stretch between special tokens to sentencepiece; the
    /// fast one transformers 4 converted applies the same map):
    ///
    /// - the Unigram vocabulary is every piece with its score, in file order, the trainer's
    ///   `unk_id` the unknown, byte fallback as the trainer spec says;
    /// - control pieces are special added tokens, user-defined pieces added tokens; then the
    ///   named tokens (bos, eos, unk, sep, pad, cls, mask; DeBERTa's `[CLS]`… by default) are
    ///   special, appended after the pieces when absent (ids from `added_tokens.json` win);
    ///   all matched in the raw text, each stretch between them normalised on its own;
    /// - normaliser: [lowercase,] the file's precompiled character map (nmt_nfkc: "…" → "...",
    ///   full-width and ligatures folded, tabs and newlines to spaces), then extra spaces
    ///   removed; a "▁" in front of every stretch (`add_dummy_prefix`); `[CLS] A [SEP]`.
    ///
    /// transformers 5 builds this tokenizer without the character map (NFC and a white-space
    /// rule instead) and matches `[MASK]` after normalising: the two agree except on text the
    /// map changes and on spaces next to a `[MASK]` written in the text.
    public static func load(sentencePieceModel path: String, settings: TokenizerSettings?, addedTokensJSON: String? = nil)
        throws(TokenizerError) -> Tokenizer
    {
        let file = try SentencePieceModelFile.read(path)
        guard file.modelType == .unigram else {
            throw TokenizerError(
                source: path, reason: "a \(file.modelType) SentencePiece model; only Unigram models are read from .model files")
        }
        if let tokenizerClass = settings?.tokenizerClass, !tokenizerClass.hasPrefix("DebertaV2") {
            throw TokenizerError(
                source: path,
                reason:
                    "tokenizer_class \(tokenizerClass): a tokenizer is built from spm.model for DeBERTa-v2/v3 only; give the folder a tokenizer.json"
            )
        }
        if settings?.splitByPunct == true {
            throw TokenizerError(source: path, reason: "split_by_punct: true is not supported (DeBERTa-v3 checkpoints use false)")
        }
        guard file.escapeWhitespaces else {
            throw TokenizerError(
                source: path, reason: "normalizer_spec.escape_whitespaces is false; only models that write spaces as \"▁\" are read")
        }
        let pieces = file.pieces.map { ($0.text, Double($0.score)) }
        // The Viterbi never matches control, unknown or unused pieces, as sentencepiece's trie
        // does not hold them (byte pieces stay, for byte fallback to find: "<0x41>" written
        // out in a text is the one place this differs).
        let matchable = file.pieces.map { ([.control, .unknown, .unused].contains($0.type) ? "" : $0.text, Double($0.score)) }
        let named = DebertaSpecialTokens(settings)
        let unk = file.unknownId
        let added = try debertaAddedTokens(file: file, named: named, extraIds: try addedTokenIds(addedTokensJSON), source: path)
        var normalizer = UnigramNormalizer()
        if settings?.doLowerCase == true { normalizer.steps.append(.lowercase) }
        if !file.precompiledCharsmap.isEmpty {
            do {
                normalizer.steps.append(.precompiled(try PrecompiledCharsmap(file.precompiledCharsmap)))
            } catch {
                throw TokenizerError(source: path, reason: "normalizer_spec.precompiled_charsmap: \(error.reason)")
            }
        }
        if file.removeExtraWhitespaces { normalizer.steps.append(.removeExtraSpaces) }
        var model = UnigramModel(
            pieces: matchable, unknownId: unk, byteFallback: file.byteFallback, normalizer: normalizer,
            prepend: file.addDummyPrefix ? .always : .never, splitAtMetaspace: true, float32Scores: true)
        model.byteFallbackDecoding = file.byteFallback
        let tokens = pieces.map(\.0)
        func id(_ name: String) -> Int? { added.first { $0.content == name }?.id }
        let post: PostProcessor
        if let cls = id(named.cls), let sep = id(named.sep) {
            post = PostProcessor(
                single: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0)],
                pair: [
                    .special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0), .second(typeId: 1),
                    .special(ids: [sep], typeId: 1),
                ])
        } else {
            post = .none
        }
        return Tokenizer(
            kind: .sentencePieceUnigram, source: path, model: .unigram(model, stripLeadingSpace: true), tokens: tokens, addedTokens: added,
            postProcessor: post, bosId: id(named.bos), eosId: id(named.eos), padId: id(named.pad), unknownId: unk)
    }

    /// Control and user-defined pieces, then the named special tokens in transformers' order.
    private static func debertaAddedTokens(
        file: SentencePieceModelFile, named: DebertaSpecialTokens, extraIds: [String: Int], source: String
    )
        throws(TokenizerError) -> [AddedToken]
    {
        var added: [AddedToken] = []
        for (id, piece) in file.pieces.enumerated() where piece.type == .control || piece.type == .userDefined {
            added.append(AddedToken(id: id, content: piece.text, special: piece.type == .control || named.all.contains(piece.text)))
        }
        var next = file.pieces.count
        for name in named.all where !added.contains(where: { $0.content == name }) {
            if let id = file.pieces.firstIndex(where: { $0.text == name }) {
                added.append(AddedToken(id: id, content: name, special: true))
            } else if let id = extraIds[name] {
                guard id >= file.pieces.count, !added.contains(where: { $0.id == id }) else {
                    throw TokenizerError(source: source, reason: "added_tokens.json: \(name) has id \(id), which is already taken")
                }
                added.append(AddedToken(id: id, content: name, special: true))
                next = max(next, id + 1)
            } else {
                while added.contains(where: { $0.id == next }) || extraIds.values.contains(next) { next += 1 }
                added.append(AddedToken(id: next, content: name, special: true))
                next += 1
            }
        }
        return added
    }

    /// `added_tokens.json` ({"[MASK]": 128000}), when the folder has one.
    private static func addedTokenIds(_ path: String?) throws(TokenizerError) -> [String: Int] {
        guard let path else { return [:] }
        do { return try JSONFile.read([String: Int].self, from: path) } catch {
            throw TokenizerError(source: error.path, reason: error.reason)
        }
    }
}

/// DeBERTa-v2's named special tokens, from tokenizer_config.json or its defaults.
struct DebertaSpecialTokens {
    var bos = "[CLS]", eos = "[SEP]", unk = "[UNK]", sep = "[SEP]", pad = "[PAD]", cls = "[CLS]", mask = "[MASK]"

    init(_ settings: TokenizerSettings?) {
        bos = settings?.bosToken?.content ?? bos
        eos = settings?.eosToken?.content ?? eos
        unk = settings?.unkToken?.content ?? unk
        sep = settings?.sepToken?.content ?? sep
        pad = settings?.padToken?.content ?? pad
        cls = settings?.clsToken?.content ?? cls
        mask = settings?.maskToken?.content ?? mask
    }

    /// In the order transformers registers them (duplicates once).
    var all: [String] {
        var seen: [String] = []
        for name in [bos, eos, unk, sep, pad, cls, mask] where !seen.contains(name) { seen.append(name) }
        return seen
    }
}
