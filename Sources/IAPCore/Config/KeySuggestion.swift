/// "Did you mean": the known key closest to a misspelt one by edit distance (within about a
/// third of its length), or a known key in another section with the same last part
/// (`rollout.lr` → `optim.lr`).
enum KeySuggestion {
    static func closest(to key: String, among known: [String]) -> String? {
        let last = key.split(separator: ".").last.map(String.init) ?? key
        if let moved = known.first(where: { $0.split(separator: ".").last.map(String.init) == last && $0 != key }) { return moved }
        let scored = known.map { ($0, distance(Array(key), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, key.count / 3) else { return nil }
        return best
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
