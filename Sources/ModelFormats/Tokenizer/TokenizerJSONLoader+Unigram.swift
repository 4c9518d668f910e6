import SafeTensors

extension TokenizerJSONReader {
    /// A Unigram `tokenizer.json` (`model.vocab`: [[piece, score], …], `unk_id`, `byte_fallback`)
    /// with the normalisers `UnigramNormalizer` knows and a `Metaspace` pre-tokenizer — what
    /// transformers writes for DeBERTa-v2/v3.
    func unigram(_ model: JSONValue, added: [AddedToken]) throws(TokenizerError) -> Tokenizer {
        guard let list = model["vocab"]?.arrayValue, !list.isEmpty else {
            throw fail("model.vocab", "missing, empty or not a list of [piece, score]")
        }
        var pieces: [(String, Double)] = []
        pieces.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            guard let pair = entry.arrayValue, pair.count == 2, let piece = pair[0].stringValue, let score = pair[1].doubleValue,
                score.isFinite
            else {
                throw fail("model.vocab[\(i)]", "expected [piece, score]")
            }
            pieces.append((piece, score))
        }
        guard let unk = model["unk_id"]?.intValue, unk >= 0, unk < pieces.count else {
            throw fail("model.unk_id", "missing or not an id of the vocabulary (an unknown character needs it)")
        }
        var normalizer = UnigramNormalizer()
        if let value = document["normalizer"], !value.isNull { try unigramSteps(value, field: "normalizer", into: &normalizer) }
        var (prepend, split) = (SentencePieceBPE.Prepend.always, true)
        if let pre = document["pre_tokenizer"], !pre.isNull { (prepend, split) = try metaspace(pre, field: "pre_tokenizer") }
        var unigram = UnigramModel(
            pieces: pieces, unknownId: unk, byteFallback: model["byte_fallback"]?.boolValue == true, normalizer: normalizer,
            prepend: prepend, splitAtMetaspace: split)
        unigram.byteFallbackDecoding = decoderSteps.contains { $0["type"]?.stringValue == "ByteFallback" }
        let tokens = pieces.map(\.0)
        let special = specialTokenIds(tokens: tokens, added: added)
        return Tokenizer(
            kind: .sentencePieceUnigram, source: path,
            model: .unigram(unigram, stripLeadingSpace: decoderSteps.contains(where: Self.stripsLeadingSpace)),
            tokens: tokens, addedTokens: added, postProcessor: try postProcessor(tokens: tokens, added: added), bosId: special.bos,
            eosId: special.eos, padId: special.pad, unknownId: unk)
    }

    private func unigramSteps(_ value: JSONValue, field: String, into normalizer: inout UnigramNormalizer) throws(TokenizerError) {
        switch value["type"]?.stringValue {
        case "Sequence":
            for (i, item) in (value["normalizers"]?.arrayValue ?? []).enumerated() {
                try unigramSteps(item, field: "\(field).normalizers[\(i)]", into: &normalizer)
            }
        case "Replace" where value["pattern"]?["Regex"]?.stringValue == #"\s{2,}|[\n\r\t]"# && value["content"]?.stringValue == " ":
            normalizer.steps.append(.collapseWhitespace)
        case "NFC": normalizer.steps.append(.nfc)
        case "Lowercase": normalizer.steps.append(.lowercase)
        case "Strip":
            normalizer.steps.append(.strip(left: value["strip_left"]?.boolValue ?? false, right: value["strip_right"]?.boolValue ?? false))
        case let other:
            throw fail(
                "\(field).type",
                "normaliser \(other ?? "(none)") is not supported for Unigram (DeBERTa's: Replace of white space, NFC, Strip, Lowercase)")
        }
    }

    /// The `Metaspace` step (alone or in a `Sequence`): its prefix scheme and whether it splits.
    private func metaspace(_ value: JSONValue, field: String) throws(TokenizerError) -> (SentencePieceBPE.Prepend, Bool) {
        if value["type"]?.stringValue == "Sequence", let steps = value["pretokenizers"]?.arrayValue, steps.count == 1 {
            return try metaspace(steps[0], field: field + ".pretokenizers[0]")
        }
        guard value["type"]?.stringValue == "Metaspace" else {
            throw fail("\(field).type", "\(value["type"]?.stringValue ?? "(none)") is not supported for Unigram (Metaspace is)")
        }
        guard value["replacement"]?.stringValue ?? "\u{2581}" == "\u{2581}" else {
            throw fail("\(field).replacement", "only \"\u{2581}\" is supported")
        }
        let scheme = value["prepend_scheme"]?.stringValue ?? (value["add_prefix_space"]?.boolValue == false ? "never" : "always")
        guard let prepend = SentencePieceBPE.Prepend(rawValue: scheme) else {
            throw fail("\(field).prepend_scheme", "\(scheme) is not first, always or never")
        }
        return (prepend, value["split"]?.boolValue ?? true)
    }
}
