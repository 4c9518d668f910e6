import ModelFormats
import SafeTensors
import FileIO

/// The rubric judge's prompt: a system message and a user message with placeholders
/// `{question}`, `{details}`, `{response}`, `{aspect}`, `{reason}`, `{evidence}`.
///
/// The default wording is ours, with the structure of LaMP-QA's official judge (one call
/// per question × aspect; the four inputs; output = only a JSON object with `match_score`
/// 0/1/2 in a ```json block). `--judge-prompt FILE` replaces it: the file holds a line
/// `[system]`, the system text, a line `[user]`, the user text (docs/judge-prompt.md).
public struct JudgePrompt: Sendable, Equatable {
    public var system: String
    public var user: String

    public static let placeholders = ["question", "details", "response", "aspect", "reason", "evidence"]

    public static let standard = JudgePrompt(
        system: """
            You are a fair and perceptive judge. Someone asked a question and explained their own situation; a \
            response was written for them. Your task is to decide how well that response addresses one particular \
            aspect that matters to this person.

            You receive four inputs:
            - question: what the person asked;
            - details: the person's own description of their situation and needs;
            - response: the answer to evaluate;
            - aspect: the point that matters, given as a short title (aspect), why it matters to the person \
            (reason), and the part of their description it comes from (evidence).

            Score the response on this aspect only:
            - 0: the response does not address the aspect;
            - 1: the response touches on the aspect, but only partly or generically;
            - 2: the response addresses the aspect specifically and well.

            Reply with nothing but a valid JSON object inside a ```json code block, holding exactly one key, \
            "match_score", whose value is 0, 1 or 2.
            """,
        user: """
            question: {question}
            details: {details}
            response: {response}
            aspect:
                -aspect: {aspect}
                -reason: {reason}
                -evidence: {evidence}

            Reply with only a JSON object in a ```json code block with the single key "match_score" (0, 1 or 2).
            """)

    public init(system: String, user: String) {
        self.system = system
        self.user = user
    }

    /// Reads a prompt file (docs/judge-prompt.md); every placeholder used must be a known
    /// one, and `{response}` and `{aspect}` must appear.
    public static func load(_ path: String) throws(JudgeConfigurationError) -> JudgePrompt {
        let file: PromptFile
        do { file = try PromptFile.load(path, requireBoth: true) } catch { throw JudgeConfigurationError("\(error)") }
        let prompt = JudgePrompt(system: file.system, user: file.user)
        for name in file.placeholders where !placeholders.contains(name) {
            throw JudgeConfigurationError(
                "\(path): unknown placeholder {\(name)} (known: \(placeholders.map { "{\($0)}" }.joined(separator: ", ")))")
        }
        for required in ["response", "aspect"] where !file.placeholders.contains(required) {
            throw JudgeConfigurationError("\(path): the prompt never shows {\(required)}")
        }
        return prompt
    }

    /// A short fingerprint of the wording (part of the judge cache key).
    public var version: String { stableHash(system + "\u{0}" + user) }

    /// The two messages for one item.
    public func messages(for item: JudgeItem) -> (system: String, user: String) {
        let values = [
            "question": item.question, "details": item.details, "response": item.response, "aspect": item.aspect.aspect,
            "reason": item.aspect.reason, "evidence": item.aspect.evidence,
        ]
        func fill(_ text: String) -> String { PromptFile.fill(text, with: values) }
        return (fill(system), fill(user))
    }
}

/// A judge that cannot be set up (bad prompt file, unknown backend, bad URL…).
public struct JudgeConfigurationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension StringProtocol {
    public func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = self[...]
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// 128-bit FNV-1a-style hash of text as 32 hex digits (two 64-bit lanes with different
/// offsets); stable across runs and platforms, for cache keys and fingerprints.
public func stableHash(_ text: String) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x8422_2325_cbf2_9ce4
    for byte in text.utf8 {
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        b = b ^ (b >> 29)
    }
    func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
    return hex(a) + hex(b)
}
