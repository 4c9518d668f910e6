import LaMPQACore
import ModelFormats
import Torch
import Transformers

/// The CPU default: a **proxy** for the LLM judge, not the benchmark's judge. Each aspect
/// (title + reason) is embedded with a sentence encoder (MiniLM), compared by cosine with
/// every sentence of the response, and the best similarity is mapped to a score:
///
///     best ≥ twoAt (0.45) → 2,   best ≥ oneAt (0.30) → 1,   else 0
///
/// Thresholds were set on MiniLM: sentences that plainly address an aspect score 0.37–0.64
/// against it, related-but-not-addressing ones 0.10–0.26, unrelated ones below 0.1. Scores
/// from this judge are only comparable with other scores from the same judge.
public final class EmbeddingJudge: RubricJudge, @unchecked Sendable {
    public let encoder: any TextEncoder
    public let tokenizer: Tokenizer
    public let name: String
    public let oneAt: Double
    public let twoAt: Double
    /// Runs of the encoder are serialised (one model, shared).
    private let lock = AsyncLock()

    public init(encoder: any TextEncoder, tokenizer: Tokenizer, name: String, oneAt: Double = 0.30, twoAt: Double = 0.45) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.name = name
        self.oneAt = oneAt
        self.twoAt = twoAt
    }

    public var identity: String { "embedding:\(name):\(oneAt),\(twoAt)" }
    public var promptVersion: String { "" }
    public var isProxy: Bool { true }

    public func judge(_ items: [JudgeItem], temperature: Double) async -> [JudgeVerdict] {
        await lock.run { self.scoreAll(items) }
    }

    private func scoreAll(_ items: [JudgeItem]) -> [JudgeVerdict] {
        do {
            var texts: [String] = []
            var index: [String: Int] = [:]
            func slot(_ text: String) -> Int {
                if let i = index[text] { return i }
                index[text] = texts.count
                texts.append(text)
                return texts.count - 1
            }
            var plan: [(aspect: Int, sentences: [Int])] = []
            for item in items {
                let sentences = EmbeddingJudge.sentences(item.response).map(slot)
                plan.append((slot("\(item.aspect.aspect): \(item.aspect.reason)"), sentences))
            }
            var vectors: [[Float]] = []
            for start in stride(from: 0, to: texts.count, by: 64) {
                let chunk = Array(texts[start..<min(start + 64, texts.count)])
                let embedded = try encoder.embed(chunk, tokenizer: tokenizer)
                let width = embedded.shape[1]
                let values = try embedded.toArray(Float.self)
                for r in 0..<chunk.count { vectors.append(Array(values[(r * width)..<((r + 1) * width)])) }
            }
            return plan.map { entry in
                guard !entry.sentences.isEmpty else { return .score(0) }
                let a = vectors[entry.aspect]
                let best = entry.sentences.map { s in zip(a, vectors[s]).reduce(0) { $0 + Double($1.0 * $1.1) } }.max() ?? 0
                return .score(best >= twoAt ? 2 : best >= oneAt ? 1 : 0)
            }
        } catch {
            return items.map { _ in .failed("embedding judge: \(error)") }
        }
    }

    /// Sentences of a response: split after . ! ? followed by white space, and at line
    /// breaks; empty pieces dropped; at most 200.
    static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var previous: Character = " "
        for c in text {
            if c == "\n" {
                out.append(current)
                current = ""
            } else if (previous == "." || previous == "!" || previous == "?") && c.isWhitespace {
                out.append(current)
                current = ""
            } else {
                current.append(c)
            }
            previous = c
        }
        out.append(current)
        return Array(out.map { $0.trimmingCharacters(in: " \t\r-*#") }.filter { $0.count >= 3 }.prefix(200))
    }
}

/// Mutual exclusion for async callers (serialises use of one in-process model).
public actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func run<T: Sendable>(_ body: @Sendable () throws -> T) async rethrows -> T {
        while busy { await withCheckedContinuation { waiters.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return try body()
    }
}
