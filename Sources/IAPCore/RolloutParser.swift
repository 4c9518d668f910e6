/// A policy rollout split into its four blocks, with a format verdict.
public struct ParsedRollout: Sendable, Equatable {
    public var firstThink: String?
    public var intent: String?
    public var secondThink: String?
    public var answer: String?
    /// Items of the numbered intent list, without their numbers.
    public var intents: [String]
    /// nil when the rollout follows the format; otherwise why not.
    public var problem: String?
    /// A block that copies the prompt or repeats a line (also named in `problem`).
    public var degeneration: Degeneration?

    public var isValid: Bool { problem == nil }

    /// Low (1–2), Medium (3–4) or High (5+) intent count (paper Figure 4).
    public var intentBucket: String? {
        switch intents.count {
        case 0: nil
        case 1...2: "low"
        case 3...4: "medium"
        default: "high"
        }
    }
}

/// Reads `<think>…</think><intent>…</intent><think>…</think><answer>…</answer>`.
///
/// Valid means: exactly these four blocks in this order, only white space outside them,
/// a closed `</answer>`, and an intent block with at least one numbered item (`1.` or `1)`
/// at the start of a line). Otherwise the verdict names the first problem found: a missing,
/// duplicated or out-of-order tag, text outside the blocks, an empty intent list, or a
/// rollout cut off before `</answer>`. Whatever is recognisable is still returned (the
/// answer of a malformed rollout, for instance), so callers can log it.
///
/// A block that copies the prompt's own text (given as `echo`) or repeats a line is
/// malformed too (`Degeneration`): the intent list "1. A numbered list of the person's most
/// likely underlying intents" is the instruction read back, not an intent. An intent item
/// without a letter ("1. 2.") is no item.
public enum RolloutParser {
    static let order = ["think", "intent", "think", "answer"]

    public static func parse(_ text: String, echo: PromptEcho? = nil) -> ParsedRollout {
        var result = ParsedRollout(intents: [])
        let paired = pair(tags(in: text), in: text)
        var problem = paired.problem
        if let unclosed = paired.unclosed {
            if unclosed.name == "answer" { result.answer = String(text[unclosed.range.upperBound...]) }
            problem = problem ?? (unclosed.name == "answer" ? "cut off before </answer>" : "<\(unclosed.name)> is never closed")
        }
        // Assign blocks to the four slots by order of appearance.
        var thinks: [String] = []
        for block in paired.blocks {
            switch block.name {
            case "think": thinks.append(block.content)
            case "intent":
                if result.intent != nil { problem = problem ?? "duplicated <intent>" }
                result.intent = result.intent ?? block.content
            default:
                if result.answer != nil { problem = problem ?? "duplicated <answer>" }
                result.answer = result.answer ?? block.content
            }
        }
        result.firstThink = thinks.first
        result.secondThink = thinks.count > 1 ? thinks[1] : nil
        if thinks.count > 2 { problem = problem ?? "duplicated <think> (\(thinks.count) blocks)" }
        problem = problem ?? orderProblem(paired.blocks.map(\.name)) ?? outsideProblem(paired.blocks, in: text)
        if let intent = result.intent {
            result.intents = numberedItems(intent)
            if result.intents.isEmpty { problem = problem ?? "the intent list has no numbered items" }
        }
        if let (block, kind) = degenerateBlock(result, echo: echo) {
            result.degeneration = kind
            problem = problem ?? (kind == .copiesPrompt ? "<\(block)> copies the prompt" : "repeated lines in <\(block)>")
        }
        result.problem = problem
        return result
    }

    /// The first block, in rollout order, that copies the prompt or repeats a line.
    static func degenerateBlock(_ r: ParsedRollout, echo: PromptEcho?) -> (String, Degeneration)? {
        let blocks = [("think", r.firstThink), ("intent", r.intent), ("think", r.secondThink), ("answer", r.answer)]
        for (name, content) in blocks {
            guard let content else { continue }
            if echo?.isCopied(in: content) == true { return (name, .copiesPrompt) }
            let repeats = name == "intent" ? RepeatedLines.inIntentList(r.intents) : RepeatedLines.inText(content)
            if repeats { return (name, .repeatedLines) }
        }
        return nil
    }

    /// One `<name>` or `</name>` occurrence.
    struct Tag {
        let name: String
        let closing: Bool
        let range: Range<String.Index>
    }

    /// A closed block: its tag name, the text inside, and the range including both tags.
    struct Block {
        let name: String
        let content: String
        let outer: Range<String.Index>
    }

    /// Every tag occurrence of the format, in text order.
    static func tags(in text: String) -> [Tag] {
        var tags: [Tag] = []
        var i = text.startIndex
        scan: while let open = text[i...].firstIndex(of: "<") {
            for name in ["think", "intent", "answer"] {
                for closing in [false, true] {
                    let literal = closing ? "</\(name)>" : "<\(name)>"
                    if text[open...].hasPrefix(literal) {
                        let end = text.index(open, offsetBy: literal.count)
                        tags.append(Tag(name: name, closing: closing, range: open..<end))
                        i = end
                        continue scan
                    }
                }
            }
            i = text.index(after: open)
        }
        return tags
    }

    /// Tags paired into blocks; the first nesting or stray-closing problem; the tag left open.
    static func pair(_ tags: [Tag], in text: String) -> (blocks: [Block], problem: String?, unclosed: Tag?) {
        var blocks: [Block] = []
        var problem: String?
        var openTag: Tag?
        for tag in tags {
            if let current = openTag {
                if tag.closing && tag.name == current.name {
                    let content = String(text[current.range.upperBound..<tag.range.lowerBound])
                    blocks.append(Block(name: current.name, content: content, outer: current.range.lowerBound..<tag.range.upperBound))
                    openTag = nil
                } else {
                    problem = problem ?? "<\(tag.closing ? "/" : "")\(tag.name)> inside <\(current.name)>"
                }
            } else if tag.closing {
                problem = problem ?? "</\(tag.name)> without an opening tag"
            } else {
                openTag = tag
            }
        }
        return (blocks, problem, openTag)
    }

    /// A missing block or blocks out of the think, intent, think, answer order.
    static func orderProblem(_ names: [String]) -> String? {
        for (n, expected) in order.enumerated() where n >= names.count || names[n] != expected {
            if !names.contains(expected) || (expected == "think" && names.filter { $0 == "think" }.count < 2) {
                return "missing <\(expected)>"
            }
            return "blocks out of order: \(names.map { "<\($0)>" }.joined(separator: " "))"
        }
        return nil
    }

    /// Text other than white space between, before or after the blocks.
    static func outsideProblem(_ blocks: [Block], in text: String) -> String? {
        var cursor = text.startIndex
        for block in blocks {
            if !text[cursor..<block.outer.lowerBound].allSatisfy(\.isWhitespace) { return "text outside the tagged blocks" }
            cursor = block.outer.upperBound
        }
        return text[cursor...].allSatisfy(\.isWhitespace) ? nil : "text after </answer>"
    }

    /// Items of a numbered list: a line starting with digits and `.` or `)` opens an item;
    /// following lines that do not continue it. A list written on one line ("1. a 2. b 3. c")
    /// gives one item per number: the next number in sequence, after white space and
    /// followed by `.` or `)` and white space, opens the next item.
    static func numberedItems(_ text: String) -> [String] {
        var items: [String] = []
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            let digits = line.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, let marker = line.dropFirst(digits.count).first, marker == "." || marker == ")" {
                let body = line.dropFirst(digits.count + 1).drop { $0 == " " || $0 == "\t" }
                items += splitInline(String(body), number: Int(digits) ?? 0)
            } else if !items.isEmpty, !line.isEmpty {
                items[items.count - 1] += " " + line
            }
        }
        return items.map(\.trimmedWhitespace).filter { $0.contains(where: \.isLetter) }
    }

    /// Item `number`'s text split where items number + 1, number + 2, … begin on the same line.
    static func splitInline(_ body: String, number: Int) -> [String] {
        var items: [String] = []
        var rest = Substring(body)
        var next = number + 1
        while let start = inlineItemStart(in: rest, number: next) {
            items.append(String(rest[..<start.item]))
            rest = rest[start.body...]
            next += 1
        }
        return items + [String(rest)]
    }

    /// Where "␣N." or "␣N)" followed by white space begins in `text` (the item's end) and
    /// where its text begins.
    static func inlineItemStart(in text: Substring, number: Int) -> (item: Substring.Index, body: Substring.Index)? {
        let marker = String(number)
        var search = text.startIndex
        while let found = text[search...].firstRange(of: marker) {
            search = found.upperBound
            guard found.lowerBound > text.startIndex, text[text.index(before: found.lowerBound)].isWhitespace else { continue }
            guard found.upperBound < text.endIndex, ".)".contains(text[found.upperBound]) else { continue }
            let afterMarker = text.index(after: found.upperBound)
            guard afterMarker < text.endIndex, text[afterMarker].isWhitespace else { continue }
            return (text.index(before: found.lowerBound), afterMarker)
        }
        return nil
    }
}

extension RolloutParser {
    /// A completion with the IAP tags taken out (what a reader would see).
    public static func withoutTags(_ text: String) -> String {
        var out = text
        for tag in ["<think>", "</think>", "<intent>", "</intent>", "<answer>", "</answer>"] { out = out.replacingAll(tag, with: " ") }
        return out
    }
}
