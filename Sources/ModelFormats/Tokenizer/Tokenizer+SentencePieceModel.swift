import FileIO
import JSONFiles

extension Tokenizer {
    /// A DeBERTa-v2/v3 tokenizer from the folder's SentencePiece model (`spm.model`;
    /// microsoft/deberta-v3-large ships no tokenizer.json), built as transformers 5's
    /// `DebertaV2Tokenizer` builds it — which is what bert_score runs:
    ///
    /// - the Unigram vocabulary is every piece with its score, in file order; the unknown id is
    ///   that of the `unk_token` piece when its score is 0, else the trainer's `unk_id`;
    /// - control pieces are special added tokens, user-defined pieces added tokens; then the
    ///   named tokens (bos, eos, unk, sep, pad, cls, mask; DeBERTa's `[CLS]`… by default) are
    ///   special, appended after the pieces when absent (ids from `added_tokens.json` win);
    /// - normaliser: [Lowercase,] collapse white space, NFC, strip on the right — transformers
    ///   builds this itself and does not apply the file's precompiled character map (nor its
    ///   byte fallback flag); `Metaspace` with a "▁" in front of every chunk; `[CLS] A [SEP]`.
    public static func load(sentencePieceModel path: String, settings: TokenizerSettings?, addedTokensJSON: String? = nil)
        throws(TokenizerError) -> Tokenizer
    {
        let file = try SentencePieceModelFile.read(path)
        guard file.modelType == .unigram else {
            throw TokenizerError(source: path, reason: "a \(file.modelType) SentencePiece model; only Unigram models are read from .model files")
        }
        if let tokenizerClass = settings?.tokenizerClass, !tokenizerClass.hasPrefix("DebertaV2") {
            throw TokenizerError(
                source: path, reason: "tokenizer_class \(tokenizerClass): a tokenizer is built from spm.model for DeBERTa-v2/v3 only; give the folder a tokenizer.json")
        }
        if settings?.splitByPunct == true {
            throw TokenizerError(source: path, reason: "split_by_punct: true is not supported (DeBERTa-v3 checkpoints use false)")
        }
        let pieces = file.pieces.map { ($0.text, Double($0.score)) }
        let named = DebertaSpecialTokens(settings)
        let unk = file.pieces.firstIndex { $0.text == named.unk && $0.score == 0 } ?? file.unknownId
        let added = try debertaAddedTokens(file: file, named: named, extraIds: try addedTokenIds(addedTokensJSON), source: path)
        var normalizer = UnigramNormalizer()
        if settings?.doLowerCase == true { normalizer.steps.append(.lowercase) }
        normalizer.steps += [.collapseWhitespace, .nfc, .strip(left: false, right: true)]
        var model = UnigramModel(
            pieces: pieces, unknownId: unk, byteFallback: false, normalizer: normalizer,
            prepend: settings?.addPrefixSpace == false ? .first : .always, splitAtMetaspace: true)
        model.byteFallbackDecoding = false
        let tokens = pieces.map(\.0)
        func id(_ name: String) -> Int? { added.first { $0.content == name }?.id }
        let post: PostProcessor
        if let cls = id(named.cls), let sep = id(named.sep) {
            post = PostProcessor(
                single: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0)],
                pair: [.special(ids: [cls], typeId: 0), .first(typeId: 0), .special(ids: [sep], typeId: 0), .second(typeId: 1),
                       .special(ids: [sep], typeId: 1)])
        } else {
            post = .none
        }
        return Tokenizer(
            kind: .sentencePieceUnigram, source: path, model: .unigram(model, stripLeadingSpace: true), tokens: tokens, addedTokens: added,
            postProcessor: post, bosId: id(named.bos), eosId: id(named.eos), padId: id(named.pad), unknownId: unk)
    }

    /// Control and user-defined pieces, then the named special tokens in transformers' order.
    private static func debertaAddedTokens(file: SentencePieceModelFile, named: DebertaSpecialTokens, extraIds: [String: Int], source: String)
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
                // transformers 5 adds added_tokens.json's entries as normalised tokens.
                added.append(AddedToken(id: id, content: name, special: true, normalized: true))
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
