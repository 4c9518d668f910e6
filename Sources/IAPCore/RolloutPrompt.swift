import LaMPQACore
import ModelFormats
import SafeTensors
import FileIO

/// The instruction that makes the policy write the IAP rollout format (paper §3.2), in our
/// words: reason about the asker's possible intents, list them, plan, answer — four tagged
/// blocks and nothing else. `{input}` is where the question and its context go (see
/// `PolicyInputBuilder`). A file with `[system]` and `[user]` sections replaces it.
public struct RolloutPrompt: Sendable, Equatable {
    public var system: String
    public var user: String

    public static let standard = RolloutPrompt(
        system: """
            You answer questions for one particular person. People often ask one thing while needing something more \
            specific, so before answering, work out what this person is really after.

            Write your reply as exactly four tagged blocks, in this order, with nothing before, between or after them:
            <think>Reason about the question and the person's situation, and about the different things they might \
            intend or need.</think>
            <intent>A numbered list of the person's most likely underlying intents, one per line: 1. … 2. …</intent>
            <think>Plan an answer that serves those intents.</think>
            <answer>The answer itself, written for this person.</answer>
            """,
        user: "{input}")

    public init(system: String, user: String) {
        self.system = system
        self.user = user
    }

    /// `[system]` / `[user]` sections; `{input}` must appear in one of them.
    public static func load(_ path: String) throws(RolloutPromptError) -> RolloutPrompt {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw RolloutPromptError("\(path): \(error.reason)") }
        var sections: [String: [Substring]] = [:]
        var current: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.filter { $0 != " " && $0 != "\t" && $0 != "\r" }
            if trimmed == "[system]" || trimmed == "[user]" {
                current = String(trimmed.dropFirst().dropLast())
                sections[current!] = []
            } else if let current {
                sections[current, default: []].append(line)
            } else if !trimmed.isEmpty {
                throw RolloutPromptError("\(path): text before the first [system] or [user] line")
            }
        }
        let system = (sections["system"] ?? []).joined(separator: "\n")
        let user = (sections["user"] ?? []).joined(separator: "\n")
        guard system.contains("{input}") || user.contains("{input}") else {
            throw RolloutPromptError("\(path): the prompt must contain {input} (where the question goes)")
        }
        return RolloutPrompt(system: system, user: user.isEmpty ? "{input}" : user)
    }

    /// The conversation for one question.
    public func messages(input: String) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        let system = self.system.replacingAll("{input}", with: input)
        if !system.isEmpty { messages.append(ChatMessage(.system, system)) }
        messages.append(ChatMessage(.user, user.replacingAll("{input}", with: input)))
        return messages
    }
}

public struct RolloutPromptError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
