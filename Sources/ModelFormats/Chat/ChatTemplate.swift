/// Chat formatting as explicit Swift renderers, one per template family, chosen from the
/// model's Jinja template text (we do not run Jinja). Each renderer reproduces what
/// transformers' `apply_chat_template` prints for system/user/assistant conversations.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: Sendable, Equatable {
        /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, Qwen2/2.5). `defaultSystem` is
        /// inserted when the conversation does not start with a system message.
        case chatML(defaultSystem: String?)
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`; Llama 3.1+ templates
        /// always open with a system header carrying the knowledge-cutoff lines.
        case llama3(knowledgeDate: Bool)
        /// `[INST] … [/INST]` (Mistral v0.x; system text joins the first user turn), or
        /// with `systemPrompt` the V7 form `[SYSTEM_PROMPT]…[/SYSTEM_PROMPT][INST]…[/INST]`.
        case mistral(systemPrompt: Bool)
        /// `<start_of_turn>user\n…<end_of_turn>\n`, `model` for the assistant; system text
        /// joins the first user turn (Gemma 3).
        case gemma
        /// A template read from a file (see `ChatTemplateFile`).
        case custom(ChatTemplateFile)
        /// Ours, for base models without a template (docs/chat-templates.md): `begin` (the
        /// BOS text when the tokenizer adds one), then `System: …`, `User: …`,
        /// `Assistant: …` turns separated by a blank line, and `Assistant:` to ask for a reply.
        case plain(begin: String)
    }

    public let family: Family

    public init(family: Family) { self.family = family }

    public var familyName: String {
        switch family {
        case .chatML: "chatml"
        case .llama3: "llama3"
        case .mistral: "mistral"
        case .gemma: "gemma"
        case .custom: "custom"
        case .plain: "plain"
        }
    }

    /// Text that ends a reply although the model writes no end-of-turn token: a base model
    /// prompted with the plain template goes on to write the next turn.
    public var stopStrings: [String] {
        if case .plain = family { return ["\nUser:", "\nSystem:"] }
        return []
    }

    /// Picks the renderer for a model's Jinja chat template.
    public static func detect(_ templateText: String, source: String) throws(TokenizerError) -> ChatTemplate {
        if templateText.contains("<|im_start|>") {
            return ChatTemplate(family: .chatML(defaultSystem: defaultChatMLSystem(templateText)))
        }
        if templateText.contains("<|start_header_id|>") {
            return ChatTemplate(family: .llama3(knowledgeDate: templateText.contains("Cutting Knowledge Date")))
        }
        if templateText.contains("<start_of_turn>") { return ChatTemplate(family: .gemma) }
        if templateText.contains("[INST]") {
            return ChatTemplate(family: .mistral(systemPrompt: templateText.contains("[SYSTEM_PROMPT]")))
        }
        throw TokenizerError(
            source: source,
            reason: "the chat template is not one we render (ChatML, Llama 3, Mistral, Gemma); "
                + "pass --chat-template FILE in the format of docs/chat-templates.md")
    }

    /// The literal system text a ChatML template prints when the conversation has none:
    /// the text between `<|im_start|>system\n` and `<|im_end|>` inside a string literal.
    static func defaultChatMLSystem(_ text: String) -> String? {
        let marker = "<|im_start|>system\n"
        var rest = text[...]
        while let start = rest.firstRange(of: marker) {
            let after = rest[start.upperBound...]
            guard let end = after.firstRange(of: "<|im_end|>") else { return nil }
            let candidate = after[..<end.lowerBound]
            // Skip places where the content is an expression (`' + message['content'] + '`).
            if !candidate.contains("'") && !candidate.contains("\"") && !candidate.contains("{{") && !candidate.isEmpty {
                return String(candidate)
            }
            rest = after[end.upperBound...]
        }
        return nil
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws(TokenizerError) -> RenderedChat {
        var out = RenderedChat()
        switch family {
        case .chatML(let defaultSystem):
            if messages.first?.role != .system, let defaultSystem {
                out.template("<|im_start|>system\n" + defaultSystem + "<|im_end|>\n")
            }
            for m in messages {
                out.template("<|im_start|>\(m.role.rawValue)\n")
                out.content(m.content)
                out.template("<|im_end|>\n")
            }
            if addGenerationPrompt { out.template("<|im_start|>assistant\n") }
        case .llama3(let knowledgeDate):
            renderLlama3(messages, knowledgeDate: knowledgeDate, addGenerationPrompt: addGenerationPrompt, into: &out)
        case .mistral(let systemPrompt): try renderMistral(messages, systemPrompt: systemPrompt, into: &out)
        case .gemma: try renderGemma(messages, addGenerationPrompt: addGenerationPrompt, into: &out)
        case .custom(let file):
            file.render(messages, addGenerationPrompt: addGenerationPrompt, into: &out)
        case .plain(let begin):
            out.template(begin)
            for (i, m) in messages.enumerated() {
                out.template(
                    (i > 0 ? "\n\n" : "")
                        + ["system": "System: ", "user": "User: ", "assistant": "Assistant: "][m.role.rawValue, default: ""])
                out.content(m.content)
            }
            if addGenerationPrompt { out.template(messages.isEmpty ? "Assistant:" : "\n\nAssistant:") }
        }
        return out
    }

    private func renderLlama3(_ messages: [ChatMessage], knowledgeDate: Bool, addGenerationPrompt: Bool, into out: inout RenderedChat) {
        out.template("<|begin_of_text|>")
        var rest = messages[...]
        if knowledgeDate {
            var system = ""
            if rest.first?.role == .system { system = trimmed(rest.removeFirst().content) }
            out.template("<|start_header_id|>system<|end_header_id|>\n\n")
            out.template("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
            out.content(system)
            out.template("<|eot_id|>")
        }
        for m in rest {
            out.template("<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n")
            out.content(trimmed(m.content))
            out.template("<|eot_id|>")
        }
        if addGenerationPrompt { out.template("<|start_header_id|>assistant<|end_header_id|>\n\n") }
    }

    private func renderMistral(_ messages: [ChatMessage], systemPrompt: Bool, into out: inout RenderedChat) throws(TokenizerError) {
        out.template("<s>")
        var rest = messages[...]
        var system: String?
        if rest.first?.role == .system { system = rest.removeFirst().content }
        if systemPrompt, let s = system {
            out.template("[SYSTEM_PROMPT]")
            out.content(s)
            out.template("[/SYSTEM_PROMPT]")
            system = nil
        }
        for m in rest {
            switch m.role {
            case .user:
                out.template(systemPrompt ? "[INST]" : "[INST] ")
                if let s = system {
                    out.content(s + "\n\n")
                    system = nil
                }
                out.content(m.content)
                out.template(systemPrompt ? "[/INST]" : " [/INST]")
            case .assistant:
                out.content(m.content)
                out.template("</s>")
            case .system:
                throw TokenizerError(source: "chat template (mistral)", reason: "a system message is only allowed first")
            }
        }
    }

    private func renderGemma(_ messages: [ChatMessage], addGenerationPrompt: Bool, into out: inout RenderedChat) throws(TokenizerError) {
        out.template("<bos>")
        var rest = messages[...]
        var prefix = ""
        if rest.first?.role == .system { prefix = rest.removeFirst().content + "\n\n" }
        for m in rest {
            guard m.role != .system else {
                throw TokenizerError(source: "chat template (gemma)", reason: "a system message is only allowed first")
            }
            out.template("<start_of_turn>\(m.role == .assistant ? "model" : "user")\n")
            out.content(prefix + trimmed(m.content))
            prefix = ""
            out.template("<end_of_turn>\n")
        }
        if addGenerationPrompt { out.template("<start_of_turn>model\n") }
    }

    /// Jinja's `trim`: Python's `str.strip()` (whitespace at both ends).
    private func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
