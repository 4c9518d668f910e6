import FileIO

/// The parts of a SentencePiece model file (`spm.model`, `tokenizer.model`: a serialised
/// `sentencepiece.ModelProto`) that a tokenizer needs: the pieces with their scores and
/// types, the trainer's model type, special ids and byte fallback, and the normaliser's
/// settings. Field numbers are those of sentencepiece_model.proto:
///
///     ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
///     SentencePiece   1 piece, 2 score (float), 3 type
///     TrainerSpec     3 model_type, 35 byte_fallback, 40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id
///     NormalizerSpec  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix,
///                     4 remove_extra_whitespaces, 5 escape_whitespaces
public struct SentencePieceModelFile: Sendable, Equatable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown, control, userDefined, unused, byte
    }

    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe, word, character
    }

    public var pieces: [Piece] = []
    public var modelType = ModelType.unigram
    public var byteFallback = false
    public var unknownId = 0
    public var bosId = 1
    public var eosId = 2
    public var padId = -1
    public var normalizerName = ""
    /// The normaliser's compiled character map (nmt_nfkc and the like); empty for identity.
    public var precompiledCharsmap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    /// Reads `path`; a missing, truncated or foreign file is an error naming it.
    public static func read(_ path: String) throws(TokenizerError) -> SentencePieceModelFile {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw TokenizerError(source: path, reason: error.reason) }
        do { return try parse(bytes[...]) } catch {
            throw TokenizerError(source: path, reason: "not a SentencePiece model (byte \(error.offset): \(error.reason))")
        }
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Failure) -> SentencePieceModelFile {
        var model = SentencePieceModelFile()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: model.pieces.append(try piece(expecting(value, at: bytes.startIndex)))
            case 2: try model.readTrainerSpec(expecting(value, at: bytes.startIndex))
            case 3: try model.readNormalizerSpec(expecting(value, at: bytes.startIndex))
            default: continue
            }
        }
        guard !model.pieces.isEmpty else { throw .init(offset: bytes.startIndex, reason: "no pieces") }
        guard model.unknownId >= 0, model.unknownId < model.pieces.count else {
            throw .init(offset: bytes.startIndex, reason: "unk_id \(model.unknownId) is not a piece")
        }
        return model
    }

    private static func expecting(_ value: ProtobufReader.Value, at offset: Int) throws(ProtobufReader.Failure) -> ArraySlice<UInt8> {
        guard let slice = value.slice else { throw .init(offset: offset, reason: "a message field holds a number") }
        return slice
    }

    private static func piece(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Failure) -> Piece {
        var piece = Piece(text: "", score: 0, type: .normal)
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: piece.text = value.string ?? ""
            case 2: piece.score = value.float ?? 0
            case 3:
                guard let raw = value.integer, let type = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw .init(offset: bytes.startIndex, reason: "piece type \(value.integer.map(String.init) ?? "?") is unknown")
                }
                piece.type = type
            default: continue
            }
        }
        guard piece.score.isFinite else {
            throw .init(offset: bytes.startIndex, reason: "piece \(piece.text) has a score that is not finite")
        }
        return piece
    }

    private mutating func readTrainerSpec(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Failure) {
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            // Ids are int32: a negative one (-1, "none") arrives as a 64-bit varint.
            let number = value.integer.map { Int(Int32(truncatingIfNeeded: $0)) }
            switch (field, number) {
            case (3, let n?):
                guard let type = ModelType(rawValue: n) else { throw .init(offset: bytes.startIndex, reason: "model_type \(n) is unknown") }
                modelType = type
            case (35, let n?): byteFallback = n != 0
            case (40, let n?): unknownId = n
            case (41, let n?): bosId = n
            case (42, let n?): eosId = n
            case (43, let n?): padId = n
            default: continue
            }
        }
    }

    private mutating func readNormalizerSpec(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Failure) {
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: normalizerName = value.string ?? ""
            case 2: precompiledCharsmap = Array(value.slice ?? [])
            case 3: addDummyPrefix = value.integer.map { $0 != 0 } ?? addDummyPrefix
            case 4: removeExtraWhitespaces = value.integer.map { $0 != 0 } ?? removeExtraWhitespaces
            case 5: escapeWhitespaces = value.integer.map { $0 != 0 } ?? escapeWhitespaces
            default: continue
            }
        }
    }
}
