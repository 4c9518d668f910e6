import LaMPQACore
import ModelFormats
import SafeTensors
import FileIO

/// The instruction that makes the policy write the IAP rollout format (paper §3.2), in our
/// words: reason about the asker's possible intents, list them, plan, answer — four tagged
/// blocks and nothing else. `{input}` is where the question and its context go (see
/// `PolicyInputBuilder`). A file with `[system]` and `[user]` sections replaces it.
public struct RolloutPrompt: Codable, Sendable, Equatable {
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

    /// A prompt file (`[system]` / `[user]` sections, see `PromptFile`); `{input}` must
    /// appear in one of them, and an absent user section means `{input}` alone.
    public static func load(_ path: String) throws(RolloutPromptError) -> RolloutPrompt {
        let file: PromptFile
        do { file = try PromptFile.load(path) } catch { throw RolloutPromptError("\(error)") }
        guard file.placeholders.contains("input") else {
            throw RolloutPromptError("\(path): the prompt must contain {input} (where the question goes)")
        }
        return RolloutPrompt(system: file.system, user: file.user.isEmpty ? "{input}" : file.user)
    }

    /// The conversation for one question.
    public func messages(input: String) -> [ChatMessage] { messages(filling: ["input": input]) }

    /// The system and user texts with the placeholders filled in one pass (a question that
    /// holds `{intents}` reaches the model as written).
    func messages(filling values: [String: String]) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        let system = PromptFile.fill(self.system, with: values)
        if !system.isEmpty { messages.append(ChatMessage(.system, system)) }
        messages.append(ChatMessage(.user, PromptFile.fill(user, with: values)))
        return messages
    }
}

public struct RolloutPromptError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
