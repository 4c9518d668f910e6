/// Token ids with what models need beside them: segment (token type) ids for pairs and
/// the attention mask that padding introduces.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var typeIds: [Int]
    public var attentionMask: [Int]

    public init(ids: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil) {
        self.ids = ids
        self.typeIds = typeIds ?? [Int](repeating: 0, count: ids.count)
        self.attentionMask = attentionMask ?? [Int](repeating: 1, count: ids.count)
    }
}

/// How to shorten inputs to `maxLength` tokens (special tokens included).
public struct Truncation: Sendable, Equatable {
    public enum Strategy: String, Sendable {
        case longestFirst = "longest_first"
        case onlyFirst = "only_first"
        case onlySecond = "only_second"
    }
    public var maxLength: Int
    public var strategy: Strategy
    public init(maxLength: Int, strategy: Strategy = .longestFirst) {
        self.maxLength = maxLength
        self.strategy = strategy
    }
}

/// How to pad encodings: to a fixed length, or to the longest of a batch.
public struct Padding: Sendable, Equatable {
    public enum Length: Sendable, Equatable {
        case fixed(Int)
        case longest
    }
    public enum Side: Sendable { case right, left }
    public var length: Length
    public var side: Side
    public var padId: Int
    public var padTypeId: Int
    public init(length: Length = .longest, side: Side = .right, padId: Int = 0, padTypeId: Int = 0) {
        self.length = length
        self.side = side
        self.padId = padId
        self.padTypeId = padTypeId
    }

    func apply(_ encoding: inout Encoding, to length: Int) {
        let missing = length - encoding.ids.count
        guard missing > 0 else { return }
        let ids = [Int](repeating: padId, count: missing)
        let types = [Int](repeating: padTypeId, count: missing)
        let mask = [Int](repeating: 0, count: missing)
        switch side {
        case .right:
            encoding.ids += ids
            encoding.typeIds += types
            encoding.attentionMask += mask
        case .left:
            encoding.ids = ids + encoding.ids
            encoding.typeIds = types + encoding.typeIds
            encoding.attentionMask = mask + encoding.attentionMask
        }
    }
}

/// Special tokens put around one sequence or a pair (`TemplateProcessing`, `BertProcessing`,
/// or a GGUF's add-BOS/EOS flags), each piece with its token type id.
public struct PostProcessor: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case special(ids: [Int], typeId: Int)
        case first(typeId: Int)
        case second(typeId: Int)
    }
    public var single: [Piece]
    public var pair: [Piece]

    public static let none = PostProcessor(single: [.first(typeId: 0)], pair: [.first(typeId: 0), .second(typeId: 1)])

    /// Number of tokens the template adds.
    func addedCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { total, piece in
            if case .special(let ids, _) = piece { total + ids.count } else { total }
        }
    }

    func apply(first: [Int], second: [Int]?) -> Encoding {
        var encoding = Encoding(ids: [], typeIds: [], attentionMask: [])
        for piece in second == nil ? single : pair {
            let (ids, type): ([Int], Int) =
                switch piece {
                case .special(let ids, let t): (ids, t)
                case .first(let t): (first, t)
                case .second(let t): (second ?? [], t)
                }
            encoding.ids += ids
            encoding.typeIds += [Int](repeating: type, count: ids.count)
        }
        encoding.attentionMask = [Int](repeating: 1, count: encoding.ids.count)
        return encoding
    }
}

extension Truncation {
    /// Cuts the two sequences so that they and `added` special tokens fit in `maxLength`,
    /// with the rule of Hugging Face `tokenizers` (longest-first balances the two).
    func apply(first: inout [Int], second: inout [Int]?, added: Int) throws(TokenizerError) {
        let budget = maxLength - added
        guard budget >= 0 else {
            throw TokenizerError(source: "truncation", reason: "max length \(maxLength) leaves no room for \(added) special tokens")
        }
        let total = first.count + (second?.count ?? 0)
        guard total > budget else { return }
        switch strategy {
        case .longestFirst:
            guard var other = second else {
                first.removeLast(first.count - budget)
                return
            }
            var n1 = first.count
            var n2 = other.count
            let swapped = n1 > n2
            if swapped { swap(&n1, &n2) }
            n2 = n1 > budget ? n1 : max(n1, budget - n1)
            if n1 + n2 > budget {
                n1 = budget / 2
                n2 = n1 + budget % 2
            }
            if swapped { swap(&n1, &n2) }
            if first.count > n1 { first.removeLast(first.count - n1) }
            if other.count > n2 { other.removeLast(other.count - n2) }
            second = other
        case .onlyFirst:
            let excess = total - budget
            guard first.count >= excess else {
                throw TokenizerError(
                    source: "truncation", reason: "the first sequence is too short to remove \(excess) tokens (only_first)")
            }
            first.removeLast(excess)
        case .onlySecond:
            let excess = total - budget
            guard var other = second, other.count >= excess else {
                throw TokenizerError(
                    source: "truncation", reason: "the second sequence is missing or too short to remove \(excess) tokens (only_second)")
            }
            other.removeLast(excess)
            second = other
        }
    }
}
