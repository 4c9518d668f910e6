import SafeTensors

extension Tokenizer {
    /// This tokenizer as a Hugging Face `tokenizer.json` (byte-level or SentencePiece-style
    /// BPE), so checkpoints we write load in transformers with the same ids: vocabulary and
    /// merges in rank order, added tokens, the text steps, BOS/EOS post-processing.
    public func tokenizerJSON() throws(TokenizerError) -> JSONValue {
        switch model {
        case .bpe(let bpe, let pipeline): return try byteLevelJSON(bpe, pipeline)
        case .sentencePiece(let spm): return sentencePieceJSON(spm)
        case .wordPiece, .unigram:
            throw TokenizerError(source: source, reason: "\(kind.rawValue) tokenizers cannot be exported to tokenizer.json yet")
        }
    }

    private func byteLevelJSON(_ bpe: BPEModel, _ pipeline: ByteLevelPipeline) throws(TokenizerError) -> JSONValue {
        var vocab: [(String, JSONValue)] = []
        var added = Set(addedTokens.map(\.id))
        for (id, token) in tokens.enumerated() where !token.isEmpty && !added.contains(id) {
            vocab.append((token, .int(id)))
        }
        // Added tokens that are also vocabulary entries in the source (GGUF control tokens)
        // stay in the vocabulary too, as transformers' conversion keeps them.
        for token in addedTokens where ByteLevelAlphabet.bytes(of: token.content) != nil && token.id < tokens.count {
            vocab.append((token.content, .int(token.id)))
            added.remove(token.id)
        }
        vocab.sort { ($0.1.intValue ?? 0) < ($1.1.intValue ?? 0) }
        let merges: [JSONValue] = rankedMerges(bpe).map { .string(tokens[$0.left] + " " + tokens[$0.right]) }

        var steps: [JSONValue] = []
        var remaining = pipeline.steps[...]
        if pipeline.addPrefixSpace {
            guard remaining.first == .split(.gpt2) else {
                throw TokenizerError(source: source, reason: "a prefix space before a non-GPT-2 split cannot be written as tokenizer.json")
            }
            remaining = remaining.dropFirst()
            steps.append(
                .object([
                    ("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                    ("use_regex", .bool(true)),
                ]))
        }
        for step in remaining {
            switch step {
            case .digits(let individual):
                steps.append(.object([("type", .string("Digits")), ("individual_digits", .bool(individual))]))
            case .split(let pattern):
                steps.append(
                    .object([
                        ("type", .string("Split")), ("pattern", .object([("Regex", .string(pattern.regex))])),
                        ("behavior", .string("Isolated")), ("invert", .bool(false)),
                    ]))
            }
        }
        if !pipeline.addPrefixSpace {
            steps.append(
                .object([
                    ("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
                    ("use_regex", .bool(false)),
                ]))
        }
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", addedTokensJSON),
            ("normalizer", pipeline.nfc ? .object([("type", .string("NFC"))]) : .null),
            ("pre_tokenizer", .object([("type", .string("Sequence")), ("pretokenizers", .array(steps))])),
            ("post_processor", postProcessorJSON),
            (
                "decoder",
                .object([
                    ("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                    ("use_regex", .bool(true)),
                ])
            ),
            (
                "model",
                .object([
                    ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
                    ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
                    ("ignore_merges", .bool(bpe.wholePieces != nil)), ("vocab", .object(vocab)), ("merges", .array(merges)),
                ])
            ),
        ])
    }

    /// SentencePiece-style BPE: every token in the vocabulary (added ones too, as
    /// transformers writes Gemma's), merges as pairs, metaspace steps as the model has them.
    private func sentencePieceJSON(_ spm: SentencePieceBPE) -> JSONValue {
        let vocab: [(String, JSONValue)] = tokens.enumerated().filter { !$0.element.isEmpty }.map { ($0.element, .int($0.offset)) }
        let merges: [JSONValue] = rankedMerges(spm.merges).map { .array([.string(tokens[$0.left]), .string(tokens[$0.right])]) }
        let replace: JSONValue = .object([
            ("type", .string("Replace")), ("pattern", .object([("String", .string(" "))])), ("content", .string("\u{2581}")),
        ])
        var normalizer: JSONValue = .null
        var preTokenizer: JSONValue = .null
        switch spm.prepend {
        case .never where !spm.splitAtMetaspace: normalizer = replace
        case .always where spm.prefixFromNormalizer && !spm.splitAtMetaspace:
            let prepend: JSONValue = .object([("type", .string("Prepend")), ("prepend", .string("\u{2581}"))])
            normalizer = .object([("type", .string("Sequence")), ("normalizers", .array([prepend, replace]))])
        default:
            preTokenizer = .object([
                ("type", .string("Metaspace")), ("replacement", .string("\u{2581}")),
                ("prepend_scheme", .string(spm.prepend.rawValue)), ("split", .bool(spm.splitAtMetaspace)),
            ])
        }
        var decoders: [JSONValue] = [
            .object([("type", .string("Replace")), ("pattern", .object([("String", .string("\u{2581}"))])), ("content", .string(" "))]),
            .object([("type", .string("Fuse"))]),
        ]
        if spm.byteFallbackDecoding { decoders.insert(.object([("type", .string("ByteFallback"))]), at: 1) }
        if spm.stripLeadingSpace {
            decoders.append(.object([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))]))
        }
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", addedTokensJSON),
            ("normalizer", normalizer), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessorJSON),
            ("decoder", .object([("type", .string("Sequence")), ("decoders", .array(decoders))])),
            (
                "model",
                .object([
                    ("type", .string("BPE")), ("dropout", .null), ("unk_token", unknownId.flatMap(token).map(JSONValue.string) ?? .null),
                    ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(true)),
                    ("byte_fallback", .bool(spm.byteFallbackIds != nil)), ("ignore_merges", .bool(false)), ("vocab", .object(vocab)),
                    ("merges", .array(merges)),
                ])
            ),
        ])
    }

    /// The merges of a table in rank order, as (left id, right id).
    private func rankedMerges(_ bpe: BPEModel) -> [(left: Int, right: Int)] {
        bpe.merges.map { (key, value) in (rank: value >> 32, left: Int(key >> 32), right: Int(key & 0xFFFF_FFFF)) }
            .sorted { $0.rank < $1.rank }.map { ($0.left, $0.right) }
    }

    private var addedTokensJSON: JSONValue {
        .array(
            addedTokens.map { t in
                .object([
                    ("id", .int(t.id)), ("content", .string(t.content)), ("single_word", .bool(false)),
                    ("lstrip", .bool(t.leftStrip)), ("rstrip", .bool(t.rightStrip)), ("normalized", .bool(t.normalized)),
                    ("special", .bool(t.special)),
                ])
            })
    }

    /// BOS/EOS as a TemplateProcessing (or byte-level's no-op when none is added).
    private var postProcessorJSON: JSONValue {
        func piece(_ p: PostProcessor.Piece) -> JSONValue {
            switch p {
            case .special(let ids, let type):
                .object([("SpecialToken", .object([("id", .string(ids.map { tokens[$0] }.joined())), ("type_id", .int(type))]))])
            case .first(let type): .object([("Sequence", .object([("id", .string("A")), ("type_id", .int(type))]))])
            case .second(let type): .object([("Sequence", .object([("id", .string("B")), ("type_id", .int(type))]))])
            }
        }
        var specialTokens: [(String, JSONValue)] = []
        for case .special(let ids, _) in postProcessor.single + postProcessor.pair {
            let name = ids.map { tokens[$0] }.joined()
            if !specialTokens.contains(where: { $0.0 == name }) {
                specialTokens.append(
                    (
                        name,
                        .object([
                            ("id", .string(name)), ("ids", .array(ids.map { .int($0) })),
                            ("tokens", .array(ids.map { .string(tokens[$0]) })),
                        ])
                    ))
            }
        }
        return specialTokens.isEmpty
            ? .object([
                ("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(false)),
                ("use_regex", .bool(true)),
            ])
            : .object([
                ("type", .string("TemplateProcessing")), ("single", .array(postProcessor.single.map(piece))),
                ("pair", .array(postProcessor.pair.map(piece))), ("special_tokens", .object(specialTokens)),
            ])
    }

    /// The matching `tokenizer_config.json`: special token names, the chat template.
    public func tokenizerSettings(chatTemplate: String?, maxLength: Int?) -> TokenizerSettings {
        func name(_ id: Int?) -> TokenizerSettings.TokenName? { id.flatMap(token).map(TokenizerSettings.TokenName.init) }
        var settings = TokenizerSettings()
        settings.tokenizerClass = "PreTrainedTokenizerFast"
        (settings.bosToken, settings.eosToken, settings.padToken, settings.unkToken) = (
            name(bosId), name(eosId), name(padId), name(unknownId)
        )
        settings.cleanUpTokenizationSpaces = false
        settings.modelMaxLength = maxLength.map(TokenizerSettings.LengthLimit.tokens)
        settings.chatTemplate = chatTemplate.map(TokenizerSettings.ChatTemplates.single)
        return settings
    }
}
