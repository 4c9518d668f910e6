/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        case system, user, assistant
    }
    public var role: Role
    public var content: String
    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// A rendered conversation, keeping apart the template's own text (where special tokens
/// such as `<|im_start|>` are meant) and message content (where they are not: a user
/// who types `<|im_end|>` must not close the turn).
public struct RenderedChat: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case template(String)
        case content(String)
    }
    public var parts: [Part] = []

    public var text: String {
        parts.map { part in
            switch part {
            case .template(let s), .content(let s): s
            }
        }.joined()
    }

    mutating func template(_ s: String) {
        if !s.isEmpty { parts.append(.template(s)) }
    }
    mutating func content(_ s: String) {
        if !s.isEmpty { parts.append(.content(s)) }
    }
}

extension Tokenizer {
    /// Ids of a rendered conversation: tokenized as one text (so ids at the seams equal
    /// those of the plain string), with special tokens recognised only inside template parts.
    public func encode(_ chat: RenderedChat) -> [Int] {
        var text = ""
        var templateRanges: [Range<Int>] = []
        for part in chat.parts {
            let start = text.utf8.count
            switch part {
            case .template(let s):
                text += s
                templateRanges.append(start..<text.utf8.count)
            case .content(let s): text += s
            }
        }
        return encodeRaw(text) { offset in templateRanges.contains { $0.contains(offset) } }
    }
}
