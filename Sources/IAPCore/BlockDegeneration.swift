import ModelFormats

/// Why a block that has the right tags still holds nothing of the model's own: it copies a
/// stretch of the rollout prompt's instruction text ("A numbered list of the person's most
/// likely underlying intents…"), or it repeats one line (an intent listed twice, an answer
/// looping on one sentence). Either makes the rollout malformed: the reward, the format
/// statistics and the intent counts must not take it for the model's intent.
public enum Degeneration: String, Codable, Sendable, Equatable, CaseIterable {
    case copiesPrompt = "copies the prompt"
    case repeatedLines = "repeated lines"
}

/// The words of a rollout prompt's own text — the instructions and any worked example, not
/// the question filled in — kept as word n-grams, so a block that copies `span` or more
/// consecutive words of it is found in one pass over the block.
public struct PromptEcho: Sendable, Equatable {
    /// Six words: long enough that ordinary phrasing ("the answer to your question") does
    /// not match by chance, short enough to catch a copied instruction cut by a token budget.
    public static let span = 6
    let grams: Set<[String]>

    /// `texts`: the prompt's parts with their placeholders (`{input}`, `{intents}`) removed.
    public init(texts: [String]) {
        var grams: Set<[String]> = []
        // A placeholder breaks the text: no n-gram spans the question filled in there.
        let pieces = texts.flatMap { text in
            let names = PromptFile(system: text, user: "").placeholders
            return PromptFile.fill(text, with: Dictionary(uniqueKeysWithValues: names.map { ($0, "\u{1}") })).split(separator: "\u{1}")
        }
        for piece in pieces {
            let words = Self.words(String(piece))
            guard words.count >= Self.span else { continue }
            for i in 0...(words.count - Self.span) { grams.insert(Array(words[i..<(i + Self.span)])) }
        }
        self.grams = grams
    }

    /// The instruction text of a rollout prompt: its system text and its user template.
    public init(_ prompt: RolloutPrompt) { self.init(texts: [prompt.system, prompt.user]) }

    /// True when `text` holds `span` consecutive words of the prompt's own text.
    public func isCopied(in text: String) -> Bool {
        let words = Self.words(text)
        guard !grams.isEmpty, words.count >= Self.span else { return false }
        for i in 0...(words.count - Self.span) where grams.contains(Array(words[i..<(i + Self.span)])) { return true }
        return false
    }

    /// Lower-cased runs of letters and digits: punctuation, markup and spacing do not hide a copy.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }
}

/// Repetition inside one block, judged on lines (an intent list's items, or the block's
/// lines and sentences) after lower-casing and dropping punctuation:
/// - in the intent list, any item given twice, or a last item that is the start of an
///   earlier one (the same item again, cut by the budget);
/// - in any block, a line of two or more words given three times or more;
/// - in any line, a run of one to eight words repeated four times or more in a row
///   ("I'm <thought> I'm <thought> I'm <thought> I'm <thought>").
public enum RepeatedLines {
    public static func inIntentList(_ items: [String]) -> Bool {
        let lines = items.map { PromptEcho.words($0) }.filter { !$0.isEmpty }
        if Set(lines).count < lines.count { return true }
        if let last = lines.last, last.count >= 2,
            lines.dropLast().contains(where: { $0.count > last.count && Array($0.prefix(last.count)) == last })
        {
            return true
        }
        return lines.contains(where: loops)
    }

    public static func inText(_ text: String) -> Bool {
        let lines = text.split(separator: "\n").flatMap { sentences($0) }.map { PromptEcho.words(String($0)) }.filter { !$0.isEmpty }
        var counts: [[String]: Int] = [:]
        for line in lines where line.count >= 2 {
            counts[line, default: 0] += 1
            if counts[line] == 3 { return true }
        }
        return lines.contains(where: loops)
    }

    /// A line's sentences: split after `.`, `!` or `?` followed by white space.
    static func sentences(_ line: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = line.startIndex
        var i = line.startIndex
        while i < line.endIndex {
            let next = line.index(after: i)
            if ".!?".contains(line[i]), next < line.endIndex, line[next].isWhitespace {
                out.append(line[start..<next])
                start = next
            }
            i = next
        }
        return out + [line[start...]]
    }

    /// A unit of 1…8 words repeated four times or more in a row.
    static func loops(_ words: [String]) -> Bool {
        for unit in 1...8 where words.count >= unit * 4 {
            var run = 0
            for i in unit..<words.count {
                run = words[i] == words[i - unit] ? run + 1 : 0
                if run >= unit * 3 { return true }
            }
        }
        return false
    }
}
