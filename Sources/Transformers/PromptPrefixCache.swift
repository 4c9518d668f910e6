import Synchronization
import Torch

/// Keys and values of prompts prefilled earlier, so that a prompt beginning like one of them
/// prefills only what follows (prefix caching, as vLLM's automatic prefix caching does for a
/// server whose requests share a system prompt or a judge's rubric). A prompt equal to a
/// remembered one is not run at all: its last position's logits are remembered too.
///
/// Valid only while the model's weights are unchanged: a server keeps one for its life; a
/// trainer must not keep one across updates. Entries are evicted least recently used first
/// once their bytes pass `budgetBytes`. Safe to share between threads (one lock).
public final class PromptPrefixCache: Sendable {
    /// One remembered prompt: per layer its keys and values [1, kv_heads, ids.count, head_dim]
    /// (every slot, windowed layers included) and its last position's logits [1, vocab].
    struct Entry {
        let ids: [Int]
        let keys: [Tensor]
        let values: [Tensor]
        let logits: Tensor
        let bytes: Int
        var lastUse: Int
    }

    /// The reuse chosen for a batch of prompts: `length` leading tokens of `entry`, which every
    /// prompt starts with (`whole`: every prompt is exactly the entry's ids).
    struct Match {
        let entry: Entry
        let length: Int
        let whole: Bool
    }

    private struct Store: @unchecked Sendable {
        var entries: [Entry] = []
        var bytes = 0
        var clock = 0
        var tokensReused = 0
    }

    public let budgetBytes: Int
    /// Shorter shared prefixes are prefilled as usual (copying them would save little).
    public let minimumPrefix: Int
    private let store = Mutex(Store())

    public init(budgetBytes: Int, minimumPrefix: Int = 4) {
        self.budgetBytes = max(0, budgetBytes)
        self.minimumPrefix = max(1, minimumPrefix)
    }

    /// Prompt tokens whose prefill a remembered prefix saved.
    public var tokensReused: Int { store.withLock { $0.tokensReused } }
    /// Bytes of keys, values and logits held.
    public var bytesHeld: Int { store.withLock { $0.bytes } }

    /// The entry sharing the longest prefix with every prompt of the batch: whole when the
    /// prompts all equal it, otherwise at most each prompt's length − 1 tokens (the last
    /// token is run for its logits), and at least `minimumPrefix`.
    func match(_ prompts: [[Int]]) -> Match? {
        guard let shortest = prompts.map(\.count).min() else { return nil }
        return store.withLock { (store) -> Match? in
            var best: (index: Int, length: Int, whole: Bool)?
            for (index, entry) in store.entries.enumerated() {
                let shared = prompts.map { PromptPrefixCache.commonPrefix($0, entry.ids) }.min() ?? 0
                let whole = shared == entry.ids.count && prompts.allSatisfy { $0.count == entry.ids.count }
                let length = whole ? shared : min(shared, shortest - 1)
                // (a whole match, the prompts' full length, is longer than any partial one)
                if length >= minimumPrefix, length > best?.length ?? 0 {
                    best = (index, length, whole)
                }
            }
            guard let best else { return nil }
            store.clock += 1
            store.entries[best.index].lastUse = store.clock
            store.tokensReused += best.length * prompts.count
            return Match(entry: store.entries[best.index], length: best.length, whole: best.whole)
        }
    }

    /// Remembers a prompt's keys and values (per layer [1, kv_heads, ids.count, head_dim]) and
    /// last logits [1, vocab], unless it is remembered already or alone exceeds the budget.
    func remember(ids: [Int], keys: [Tensor], values: [Tensor], logits: Tensor) {
        let bytes = (keys + values + [logits]).reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        guard bytes <= budgetBytes else { return }
        store.withLock { store in
            guard !store.entries.contains(where: { $0.ids == ids }) else { return }
            store.clock += 1
            store.entries.append(Entry(ids: ids, keys: keys, values: values, logits: logits, bytes: bytes, lastUse: store.clock))
            store.bytes += bytes
            while store.bytes > budgetBytes,
                let oldest = store.entries.indices.min(by: { store.entries[$0].lastUse < store.entries[$1].lastUse })
            {
                store.bytes -= store.entries[oldest].bytes
                store.entries.remove(at: oldest)
            }
        }
    }

    /// Whether `ids` is remembered already.
    func holds(_ ids: [Int]) -> Bool { store.withLock { $0.entries.contains { $0.ids == ids } } }

    /// Drops every entry (after the weights changed).
    public func clear() {
        store.withLock { store in (store.entries, store.bytes) = ([], 0) }
    }

    static func commonPrefix(_ a: [Int], _ b: [Int]) -> Int {
        var n = 0
        while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
        return n
    }
}
