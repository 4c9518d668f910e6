import JSONFiles

/// Reads `match_score` out of a judge's reply.
///
/// Accepted: a ```json fenced block or bare JSON, with text before or after; the first JSON
/// object that holds `match_score` wins; if no object parses, a `"match_score": N` pair
/// written anywhere. Values: the integers 0, 1, 2, also written as "2" or 2.0. Anything else
/// — another number (3, −1, 1.5), a word, no key — is *unparsable*, and the item is asked
/// again in the next round (LaMP-QA's rule for failed parses), rather than being clipped
/// into range.
public enum JudgeResponseParser {
    public static func score(_ reply: String) -> Int? {
        for candidate in jsonObjects(in: reply) {
            if let verdict = try? JSONFile.decode(Verdict.self, from: candidate, source: "judge reply"), verdict.hasScore {
                return verdict.score
            }
        }
        return looseScore(reply)
    }

    /// An object that may hold `match_score` (other keys are ignored).
    struct Verdict: Decodable {
        let hasScore: Bool
        let score: Int?

        enum CodingKeys: String, CodingKey { case matchScore = "match_score" }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            hasScore = c.contains(.matchScore)
            if let i = try? c.decode(Int.self, forKey: .matchScore) {
                score = (0...2).contains(i) ? i : nil
            } else if let d = try? c.decode(Double.self, forKey: .matchScore) {
                score = JudgeResponseParser.whole(d)
            } else if let text = try? c.decode(String.self, forKey: .matchScore) {
                let t = text.trimmingCharacters(in: " \t\n")
                score = Int(t).flatMap { (0...2).contains($0) ? $0 : nil } ?? Double(t).flatMap(JudgeResponseParser.whole)
            } else {
                score = nil
            }
        }
    }

    /// 0, 1 or 2 written as a number; nil for anything else (1.5, 3, −1).
    static func whole(_ d: Double) -> Int? { d.rounded() == d && (0...2).contains(d) ? Int(d) : nil }

    /// Balanced `{…}` spans (respecting strings and escapes), fenced blocks first.
    static func jsonObjects(in text: String) -> [String] {
        var out: [String] = []
        for source in fencedBlocks(in: text) + [text[...]] {
            let bytes = Array(source.utf8)
            var i = 0
            while let start = bytes[i...].firstIndex(of: UInt8(ascii: "{")) {
                guard let end = closingBrace(bytes, from: start) else { break }
                out.append(String(decoding: bytes[start...end], as: UTF8.self))
                i = end + 1
            }
        }
        return out
    }

    /// The contents of ``` fences (a `json` tag dropped), in order.
    static func fencedBlocks(in text: String) -> [Substring] {
        var blocks: [Substring] = []
        var rest = text[...]
        while let open = rest.firstRange(of: "```") {
            let afterFence = rest[open.upperBound...]
            guard let close = afterFence.firstRange(of: "```") else { break }
            var body = afterFence[..<close.lowerBound]
            if body.hasPrefix("json") { body = body.dropFirst(4) }
            blocks.append(body)
            rest = afterFence[close.upperBound...]
        }
        return blocks
    }

    /// The index of the `}` that closes the `{` at `start`, skipping braces inside strings;
    /// nil when it is never closed.
    static func closingBrace(_ bytes: [UInt8], from start: Int) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for j in start..<bytes.count {
            let c = bytes[j]
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return j }
            }
        }
        return nil
    }

    /// `match_score` followed by `:` or `=` and a number, anywhere in the text.
    static func looseScore(_ text: String) -> Int? {
        guard let key = text.firstRange(of: "match_score") else { return nil }
        var rest = text[key.upperBound...].drop { $0 == "\"" || $0 == "'" || $0 == " " }
        guard let sep = rest.first, sep == ":" || sep == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\"" || $0 == "'" }
        let number = rest.prefix { $0.isNumber || $0 == "." || $0 == "-" }
        guard let d = Double(number), d.rounded() == d, (0...2).contains(d) else { return nil }
        return Int(d)
    }
}
