import LaMPQACore
import SafeTensors
import ModelFormats

/// The paper's baselines (§4, appendix A.1) as prompts in our words, each replaceable by a
/// `[system]`/`[user]` file with `{input}` (and `{intents}` for explicit intent).
public enum BaselineMethod: String, Sendable, CaseIterable {
    /// Chain-of-thought answer with no information about the user (question only).
    case nonPersonalized = "non-personalized"
    /// Infer the user's intent (goal, need, reason for asking) first, then answer.
    case implicitIntent = "implicit-intent"
    /// The intents an IAP model inferred are given in the prompt.
    case explicitIntent = "explicit-intent"
    /// No instruction at all: the question and its context as the user's message, the whole
    /// reply as the answer (what `iap sft` fine-tunes, and how an SFT model is asked).
    case direct = "direct"

    public var prompt: RolloutPrompt {
        switch self {
        case .nonPersonalized:
            RolloutPrompt(
                system: """
                    Answer the question helpfully. Think step by step first, then write your final answer after a line \
                    that says "Final answer:".
                    """,
                user: "{input}")
        case .implicitIntent:
            RolloutPrompt(
                system: """
                    Answer the question for this particular person. First work out their intent: what they are trying to \
                    achieve, what they need, and why they are asking. Think step by step, then write an answer that serves \
                    that intent after a line that says "Final answer:".
                    """,
                user: "{input}")
        case .explicitIntent:
            RolloutPrompt(
                system: """
                    Answer the question for this particular person. Their likely intents are listed below the question; \
                    make sure your answer serves them. Think step by step, then write your final answer after a line that \
                    says "Final answer:".
                    """,
                user: "{input}\n\nThe person's likely intents:\n{intents}")
        case .direct:
            RolloutPrompt(system: "", user: "{input}")
        }
    }

    /// The text after the last "Final answer:" (the whole reply when there is none).
    public static func finalAnswer(_ reply: String) -> String {
        guard let range = reply.ranges(of: "Final answer:").last else { return reply }
        return String(reply[range.upperBound...])
    }
}

extension RolloutPrompt {
    /// The conversation with `{intents}` filled in as a numbered list.
    public func messages(input: String, intents: [String]) -> [ChatMessage] {
        let list = intents.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n")
        return messages(filling: ["input": input, "intents": list.isEmpty ? "(none)" : list])
    }
}
