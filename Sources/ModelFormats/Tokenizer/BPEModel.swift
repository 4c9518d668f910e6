import Synchronization

/// Byte-level byte-pair encoding: a piece's UTF-8 bytes start as one symbol each and the
/// merge with the lowest rank among adjacent pairs is applied (leftmost first on ties) until
/// none applies, exactly as Hugging Face `tokenizers` does.
///
/// Results are cached per piece (bounded, shared across threads).
final class BPEModel: Sendable {
    /// Symbol id of each byte (the vocabulary entry spelling that byte); -1 for a byte the
    /// vocabulary lacks, which is dropped (as `tokenizers` does when there is no unknown token).
    let byteIds: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Whole-piece lookup that skips merging (Llama 3's `ignore_merges`): spelling → id.
    let wholePieces: [String: Int32]?
    private let cache = Mutex<[[UInt8]: [Int32]]>([:])
    static let cacheLimit = 50_000

    /// Records merge `rank` (left + right → their join) in a merge table; nil when a token of
    /// it is not in the vocabulary. A repeated pair keeps its first (best) rank.
    static func addMerge(_ left: Substring, _ right: Substring, rank: Int, ids: [String: Int32], to merges: inout [UInt64: UInt64]) -> Bool
    {
        guard let l = ids[String(left)], let r = ids[String(right)], let merged = ids[String(left + right)] else { return false }
        let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
        if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }
        return true
    }

    init(byteIds: [Int32], merges: [UInt64: UInt64], wholePieces: [String: Int32]?) {
        self.byteIds = byteIds
        self.merges = merges
        self.wholePieces = wholePieces
    }

    /// Appends the ids of one piece (its UTF-8 bytes) to `out`.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        if bytes.count == 1 {
            let id = byteIds[Int(bytes[0])]
            if id >= 0 { out.append(id) }
            return
        }
        let piece = Array(bytes)
        if let hit = cache.withLock({ $0[piece] }) {
            out.append(contentsOf: hit)
            return
        }
        if let wholePieces, let id = wholePieces[ByteLevelAlphabet.spell(piece)] {
            out.append(id)
            return
        }
        let ids = merge(piece.compactMap { byteIds[Int($0)] >= 0 ? byteIds[Int($0)] : nil })
        out.append(contentsOf: ids)
        cache.withLock { cache in
            if cache.count >= BPEModel.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[piece] = ids
        }
    }

    @inline(__always)
    private func lookup(_ left: Int32, _ right: Int32) -> UInt64? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Applies the merges to a piece's starting symbols (its bytes here; its characters in
    /// SentencePiece-style BPE).
    func merge(_ symbols: [Int32]) -> [Int32] {
        symbols.count <= 96 ? mergeSmall(symbols) : mergeLarge(symbols)
    }

    /// Short pieces: an array of symbols and the rank of each adjacent pair, rescanned for
    /// the minimum after every merge (n² integer compares, n dictionary lookups).
    private func mergeSmall(_ start: [Int32]) -> [Int32] {
        var symbols = start
        let none = UInt64.max
        var pairs = [UInt64](repeating: none, count: max(symbols.count - 1, 0))
        for p in 0..<pairs.count { pairs[p] = lookup(symbols[p], symbols[p + 1]) ?? none }
        while true {
            var best = none
            var at = -1
            for p in 0..<pairs.count where pairs[p] < best {
                best = pairs[p]
                at = p
            }
            if at < 0 { break }
            symbols[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: at + 1)
            pairs.remove(at: at)
            if at < pairs.count { pairs[at] = lookup(symbols[at], symbols[at + 1]) ?? none }
            if at > 0 { pairs[at - 1] = lookup(symbols[at - 1], symbols[at]) ?? none }
        }
        return symbols
    }

    /// Long pieces (whitespace runs, long words): a linked list of symbols and a binary
    /// heap of candidate merges keyed by (rank, position), stale entries skipped on pop.
    private func mergeLarge(_ start: [Int32]) -> [Int32] {
        var ids = start
        let n = ids.count
        guard n > 1 else { return ids }
        var next = Array(1...n)  // n means no next symbol
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for p in 0..<(n - 1) {
            if let m = lookup(ids[p], ids[p + 1]) { heap.push(rank: m >> 32, position: p, left: ids[p], right: ids[p + 1]) }
        }
        while let top = heap.pop() {
            let p = top.position
            guard alive[p], ids[p] == top.left else { continue }
            let q = next[p]
            guard q < n, ids[q] == top.right, let m = lookup(top.left, top.right), m >> 32 == top.rank else { continue }
            ids[p] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[q] = false
            next[p] = next[q]
            if next[q] < n { prev[next[q]] = p }
            if prev[p] >= 0, let m2 = lookup(ids[prev[p]], ids[p]) {
                heap.push(rank: m2 >> 32, position: prev[p], left: ids[prev[p]], right: ids[p])
            }
            if next[p] < n, let m2 = lookup(ids[p], ids[next[p]]) {
                heap.push(rank: m2 >> 32, position: p, left: ids[p], right: ids[next[p]])
            }
        }
        var out: [Int32] = []
        var p = 0
        while p < n {
            out.append(ids[p])
            p = next[p]
        }
        return out
    }
}

/// A min-heap of merge candidates ordered by (rank, position).
private struct MergeHeap {
    struct Entry {
        let rank: UInt64
        let position: Int
        let left: Int32
        let right: Int32
        func before(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }
    private var items: [Entry] = []

    mutating func push(rank: UInt64, position: Int, left: Int32, right: Int32) {
        items.append(Entry(rank: rank, position: position, left: left, right: right))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].before(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < items.count && items[l].before(items[m]) { m = l }
            if r < items.count && items[r].before(items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
