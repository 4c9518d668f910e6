/// How deeply a YAML text nests, estimated from its characters before any parser sees it:
/// YAML parsers (Yams' composer and emitter among them) recurse once per level, so a value
/// nested a few thousand levels — 10 KB of `[` or of `- ` — overflows the stack and the
/// process dies with SIGSEGV instead of an error. The estimate never undercounts: each
/// level needs an opening bracket, a deeper indentation, or a `- `/`? ` indicator, and all of
/// them are counted (brackets and indicators inside quoted text too, so text full of them
/// may be overestimated — far past any real configuration's 3 levels before that matters).
enum YAMLNesting {
    /// Far beyond a configuration's `section: key: [list]`, far below what overflows.
    static let maxDepth = 64

    /// The largest nesting the text may reach.
    static func estimate(_ text: Substring) -> Int {
        var deepest = 0
        var flow = 0
        var indents: [Int] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let body = line.dropFirst(indent)
            if body.isEmpty || body.first == "#" { continue }
            while let last = indents.last, last >= indent { indents.removeLast() }
            indents.append(indent)
            let block = indents.count + leadingIndicators(body)
            for character in body {
                if character == "[" || character == "{" {
                    flow += 1
                    deepest = max(deepest, block + flow)
                } else if character == "]" || character == "}" {
                    flow = max(0, flow - 1)
                }
            }
            deepest = max(deepest, block + flow)
        }
        return deepest
    }

    /// Compact nesting on one line: `- - - x` or `? ? x` opens a level per indicator.
    private static func leadingIndicators(_ body: Substring) -> Int {
        var count = 0
        var rest = body
        while let first = rest.first, first == "-" || first == "?" {
            let after = rest.dropFirst()
            guard after.isEmpty || after.first == " " || after.first == "\t" else { break }
            count += 1
            rest = after.drop { $0 == " " || $0 == "\t" }
        }
        return count
    }
}
