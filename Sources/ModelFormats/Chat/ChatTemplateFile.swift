import SafeTensors
import FileIO

/// A chat format written by hand, for models whose template we do not recognise.
///
/// The file holds `key: value` lines (`#` starts a comment; in values `\n`, `\t` and `\\`
/// are escapes). Keys: `begin` (printed first), `system`, `user`, `assistant` (each with a
/// `{content}` placeholder), `generation` (printed when a reply is requested),
/// `default_system` (used when the conversation has no system message), `system_mode`
/// (`turn`, the default, or `merge_first_user`: system text + a blank line goes in front of
/// the first user message). Documented with an example in docs/chat-templates.md.
public struct ChatTemplateFile: Sendable, Equatable {
    public var begin = ""
    public var system = ""
    public var user = ""
    public var assistant = ""
    public var generation = ""
    public var defaultSystem: String?
    public var mergeSystemIntoFirstUser = false

    public static func load(_ path: String) throws(TokenizerError) -> ChatTemplateFile {
        let text: String
        do { text = try AtomicFile.readText(path) } catch { throw TokenizerError(source: path, reason: error.reason) }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String) throws(TokenizerError) -> ChatTemplateFile {
        var t = ChatTemplateFile()
        var seen: Set<String> = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.first == "#" { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw TokenizerError(source: "\(source):\(n + 1)", reason: "expected `key: value`")
            }
            let key = String(line[..<colon]).filter { $0 != " " && $0 != "\t" }
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            let unescaped = try unescape(value, at: "\(source):\(n + 1)")
            guard seen.insert(key).inserted else { throw TokenizerError(source: "\(source):\(n + 1)", reason: "\(key) is given twice") }
            switch key {
            case "begin": t.begin = unescaped
            case "system", "user", "assistant":
                guard unescaped.contains("{content}") else {
                    throw TokenizerError(source: "\(source):\(n + 1)", reason: "\(key) needs a {content} placeholder")
                }
                if key == "system" { t.system = unescaped } else if key == "user" { t.user = unescaped } else { t.assistant = unescaped }
            case "generation": t.generation = unescaped
            case "default_system": t.defaultSystem = unescaped
            case "system_mode":
                switch unescaped {
                case "turn": t.mergeSystemIntoFirstUser = false
                case "merge_first_user": t.mergeSystemIntoFirstUser = true
                default: throw TokenizerError(source: "\(source):\(n + 1)", reason: "system_mode is turn or merge_first_user")
                }
            default:
                throw TokenizerError(
                    source: "\(source):\(n + 1)",
                    reason: "unknown key \(key) (begin, system, user, assistant, generation, default_system, system_mode)")
            }
        }
        for key in ["user", "assistant"] where !seen.contains(key) {
            throw TokenizerError(source: source, reason: "the template needs a \(key) line")
        }
        if !seen.contains("system") && !t.mergeSystemIntoFirstUser {
            throw TokenizerError(source: source, reason: "the template needs a system line (or system_mode: merge_first_user)")
        }
        return t
    }

    private static func unescape(_ s: Substring, at place: String) throws(TokenizerError) -> String {
        var out = ""
        var escaping = false
        for c in s {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\\": out.append("\\")
                default: throw TokenizerError(source: place, reason: "unknown escape \\\(c) (\\n, \\t, \\\\ are known)")
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        if escaping { throw TokenizerError(source: place, reason: "a line cannot end with a lone backslash") }
        return out
    }

    func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, into out: inout RenderedChat) {
        func emit(_ pattern: String, _ content: String) {
            let pieces = pattern.split(separator: "{content}", maxSplits: 1, omittingEmptySubsequences: false)
            out.template(String(pieces[0]))
            out.content(content)
            if pieces.count > 1 { out.template(String(pieces[1])) }
        }
        out.template(begin)
        var rest = messages[...]
        var pendingSystem: String?
        if rest.first?.role == .system {
            pendingSystem = rest.removeFirst().content
        } else {
            pendingSystem = defaultSystem
        }
        if let s = pendingSystem, !mergeSystemIntoFirstUser {
            emit(system, s)
            pendingSystem = nil
        }
        for m in rest {
            switch m.role {
            case .system: emit(system.isEmpty ? user : system, m.content)
            case .user:
                emit(user, (pendingSystem.map { $0 + "\n\n" } ?? "") + m.content)
                pendingSystem = nil
            case .assistant: emit(assistant, m.content)
            }
        }
        if addGenerationPrompt { out.template(generation) }
    }
}
