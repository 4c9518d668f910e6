import FileIO

/// A prompt file: a line `[system]`, the system text, a line `[user]`, the user text (either
/// section may come first; blank lines around each text are dropped). One format for the
/// judge, rollout and baseline prompts; each user of it checks its own placeholders.
public struct PromptFile: Sendable, Equatable {
    public var system: String
    public var user: String

    public init(system: String, user: String) {
        self.system = system
        self.user = user
    }

    /// Reads a file; `requireBoth` demands both sections (the judge needs a system text).
    public static func load(_ path: String, requireBoth: Bool = false) throws(FileIOError) -> PromptFile {
        try parse(try AtomicFile.readText(path), source: path, requireBoth: requireBoth)
    }

    public static func parse(_ text: String, source: String, requireBoth: Bool = false) throws(FileIOError) -> PromptFile {
        var sections: [String: [Substring]] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.filter { $0 != " " && $0 != "\t" && $0 != "\r" }
            if trimmed == "[system]" || trimmed == "[user]" {
                let name = String(trimmed.dropFirst().dropLast())
                guard sections[name] == nil else { throw FileIOError(path: source, reason: "[\(name)] appears twice") }
                sections[name] = []
                current = name
            } else if let current {
                sections[current, default: []].append(line)
            } else if !trimmed.isEmpty {
                throw FileIOError(path: source, reason: "text before the first [system] or [user] line")
            }
        }
        if requireBoth && (sections["system"] == nil || sections["user"] == nil) {
            throw FileIOError(path: source, reason: "needs a [system] line and a [user] line, each followed by its text")
        }
        func body(_ name: String) -> String {
            var lines = sections[name] ?? []
            while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
            while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
            return lines.joined(separator: "\n")
        }
        return PromptFile(system: body("system"), user: body("user"))
    }

    /// Names written in braces (`{input}`, `{response}`) in either text.
    public var placeholders: Set<String> {
        var names: Set<String> = []
        for text in [system, user] {
            var rest = text[...]
            while let open = rest.firstIndex(of: "{") {
                let after = rest[rest.index(after: open)...]
                guard let close = after.firstIndex(of: "}") else { break }
                let name = after[..<close]
                if !name.isEmpty && name.allSatisfy({ $0.isLetter || $0 == "_" }) { names.insert(String(name)) }
                rest = after[after.index(after: close)...]
            }
        }
        return names
    }

    /// `template` with each `{name}` of `values` replaced, in one pass over the template: text
    /// that a value brings in (a question or a response holding `{evidence}`) is never read
    /// for placeholders, and braces of unknown names stay as they are.
    public static func fill(_ template: String, with values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += value
                rest = after[after.index(after: close)...]
            } else {
                out += "{"
                rest = after
            }
        }
        return out + rest
    }
}
