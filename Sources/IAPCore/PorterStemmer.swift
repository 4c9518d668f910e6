/// The Porter stemmer as NLTK implements it in its default `NLTK_EXTENSIONS` mode (the one
/// `rouge_score` uses): the original five steps plus NLTK's irregular forms, its `ies`/`ied`
/// rules for four-letter words, the stricter `y → i` condition, `fulli` and `logi` in step 2,
/// and the two-letter CVC case. Works on lower-case ASCII words (ROUGE tokens are [a-z0-9]+).
public enum PorterStemmer {
    static let irregular: [String: String] = [
        "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news", "innings": "inning",
        "inning": "inning", "outings": "outing", "outing": "outing", "cannings": "canning", "canning": "canning",
        "howe": "howe", "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
    ]

    public static func stem(_ word: String) -> String {
        let lower = String(word.lowercased())
        if let known = irregular[lower] { return known }
        var w = Array(lower.utf8)
        if w.count <= 2 { return lower }
        w = step1a(w)
        w = step1b(w)
        w = step1c(w)
        w = step2(w)
        w = step3(w)
        w = step4(w)
        w = step5a(w)
        w = step5b(w)
        return String(decoding: w, as: UTF8.self)
    }

    typealias Word = [UInt8]
    static let vowels: Set<UInt8> = Set("aeiou".utf8)
    static let y = UInt8(ascii: "y")

    static func isConsonant(_ w: Word, _ index: Int) -> Bool {
        var i = index
        if vowels.contains(w[i]) { return false }
        if w[i] == y {
            var negate = false
            while i > 0 && w[i] == y {
                negate.toggle()
                i -= 1
            }
            return (!vowels.contains(w[i])) != negate
        }
        return true
    }

    static func consonantFlags(_ w: Word) -> [Bool] {
        var flags: [Bool] = []
        for (i, c) in w.enumerated() {
            if vowels.contains(c) {
                flags.append(false)
            } else if c == y {
                flags.append(i == 0 ? true : !flags[i - 1])
            } else {
                flags.append(true)
            }
        }
        return flags
    }

    /// Number of vowel→consonant transitions ("VC" pairs).
    static func measure(_ stem: Word) -> Int {
        let flags = consonantFlags(stem)
        var count = 0
        for i in 1..<max(1, flags.count) where !flags[i - 1] && flags[i] { count += 1 }
        return count
    }

    static func containsVowel(_ stem: Word) -> Bool { consonantFlags(stem).contains(false) }

    static func endsDoubleConsonant(_ w: Word) -> Bool {
        w.count >= 2 && w[w.count - 1] == w[w.count - 2] && isConsonant(w, w.count - 1)
    }

    static func endsCVC(_ w: Word) -> Bool {
        let n = w.count
        if n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)
            && !["w", "x", "y"].map({ UInt8(ascii: $0) }).contains(w[n - 1])
        {
            return true
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
    }

    static func ends(_ w: Word, _ suffix: String) -> Bool {
        w.count >= suffix.utf8.count && w.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
    }
    static func drop(_ w: Word, _ suffix: String) -> Word { Array(w.dropLast(suffix.utf8.count)) }

    /// NLTK's `_apply_rule_list`: the first rule whose suffix matches decides; "*d" matches a
    /// double consonant ending.
    struct Rule {
        let suffix: String
        let replacement: Word
        let condition: ((Word) -> Bool)?
    }
    static func apply(_ w: Word, _ rules: [Rule]) -> Word {
        for rule in rules {
            if rule.suffix == "*d" {
                if endsDoubleConsonant(w) {
                    let stem = Array(w.dropLast(2))
                    return (rule.condition?(stem) ?? true) ? stem + rule.replacement : w
                }
                continue
            }
            if ends(w, rule.suffix) {
                let stem = drop(w, rule.suffix)
                return (rule.condition?(stem) ?? true) ? stem + rule.replacement : w
            }
        }
        return w
    }
    static func r(_ suffix: String, _ replacement: String, _ condition: ((Word) -> Bool)? = nil) -> Rule {
        Rule(suffix: suffix, replacement: Array(replacement.utf8), condition: condition)
    }
    static func positive(_ stem: Word) -> Bool { measure(stem) > 0 }

    static func step1a(_ w: Word) -> Word {
        if ends(w, "ies") && w.count == 4 { return drop(w, "ies") + Array("ie".utf8) }
        return apply(w, [r("sses", "ss"), r("ies", "i"), r("ss", "ss"), r("s", "")])
    }

    static func step1b(_ w: Word) -> Word {
        if ends(w, "ied") { return drop(w, "ied") + Array((w.count == 4 ? "ie" : "i").utf8) }
        if ends(w, "eed") {
            let stem = drop(w, "eed")
            return measure(stem) > 0 ? stem + Array("ee".utf8) : w
        }
        var intermediate: Word?
        for suffix in ["ed", "ing"] where ends(w, suffix) {
            let candidate = drop(w, suffix)
            if containsVowel(candidate) {
                intermediate = candidate
                break
            }
        }
        guard let stem = intermediate, !stem.isEmpty else { return w }
        let last = stem[stem.count - 1]
        return apply(
            stem,
            [
                r("at", "ate"), r("bl", "ble"), r("iz", "ize"),
                Rule(suffix: "*d", replacement: [last], condition: { _ in !["l", "s", "z"].map({ UInt8(ascii: $0) }).contains(last) }),
                r("", "e") { measure($0) == 1 && endsCVC($0) },
            ])
    }

    static func step1c(_ w: Word) -> Word {
        apply(w, [r("y", "i") { $0.count > 1 && isConsonant($0, $0.count - 1) }])
    }

    static func step2(_ w: Word) -> Word {
        if ends(w, "alli") && positive(drop(w, "alli")) { return step2(drop(w, "alli") + Array("al".utf8)) }
        return apply(
            w,
            [
                r("ational", "ate", positive), r("tional", "tion", positive), r("enci", "ence", positive), r("anci", "ance", positive),
                r("izer", "ize", positive), r("bli", "ble", positive), r("alli", "al", positive), r("entli", "ent", positive),
                r("eli", "e", positive), r("ousli", "ous", positive), r("ization", "ize", positive), r("ation", "ate", positive),
                r("ator", "ate", positive), r("alism", "al", positive), r("iveness", "ive", positive), r("fulness", "ful", positive),
                r("ousness", "ous", positive), r("aliti", "al", positive), r("iviti", "ive", positive), r("biliti", "ble", positive),
                r("fulli", "ful", positive), r("logi", "log") { _ in positive(Array(w.dropLast(3))) },
            ])
    }

    static func step3(_ w: Word) -> Word {
        apply(
            w,
            [
                r("icate", "ic", positive), r("ative", "", positive), r("alize", "al", positive), r("iciti", "ic", positive),
                r("ical", "ic", positive), r("ful", "", positive), r("ness", "", positive),
            ])
    }

    static func step4(_ w: Word) -> Word {
        let gt1: (Word) -> Bool = { measure($0) > 1 }
        return apply(
            w,
            [
                r("al", "", gt1), r("ance", "", gt1), r("ence", "", gt1), r("er", "", gt1), r("ic", "", gt1), r("able", "", gt1),
                r("ible", "", gt1), r("ant", "", gt1), r("ement", "", gt1), r("ment", "", gt1), r("ent", "", gt1),
                r("ion", "") { measure($0) > 1 && !$0.isEmpty && [UInt8(ascii: "s"), UInt8(ascii: "t")].contains($0[$0.count - 1]) },
                r("ou", "", gt1), r("ism", "", gt1), r("ate", "", gt1), r("iti", "", gt1), r("ous", "", gt1), r("ive", "", gt1),
                r("ize", "", gt1),
            ])
    }

    static func step5a(_ w: Word) -> Word {
        guard ends(w, "e") else { return w }
        let stem = drop(w, "e")
        if measure(stem) > 1 { return stem }
        if measure(stem) == 1 && !endsCVC(stem) { return stem }
        return w
    }

    static func step5b(_ w: Word) -> Word {
        apply(w, [r("ll", "l") { _ in measure(Array(w.dropLast())) > 1 }])
    }
}

/// ROUGE-L F1 as `rouge_score` computes it with `use_stemmer=True`: lower-case, anything
/// outside [a-z0-9] splits tokens, tokens longer than 3 characters stemmed (Porter, NLTK
/// mode); precision = LCS / |prediction|, recall = LCS / |target|, F = 2PR/(P + R), 0 when
/// either side has no tokens.
public enum RougeL {
    public static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var current: [UInt8] = []
        func flush() {
            if !current.isEmpty {
                let word = String(decoding: current, as: UTF8.self)
                out.append(word.count > 3 ? PorterStemmer.stem(word) : word)
                current.removeAll()
            }
        }
        for scalar in text.lowercased().unicodeScalars {
            let v = scalar.value
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
                current.append(UInt8(v))
            } else {
                flush()
            }
        }
        flush()
        return out.filter { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) } }
    }

    public static func f1(prediction: String, target: String) -> Double {
        let p = tokens(prediction)
        let t = tokens(target)
        guard !p.isEmpty, !t.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: p.count + 1)
        var row = previous
        for i in 1...t.count {
            for j in 1...p.count {
                row[j] = t[i - 1] == p[j - 1] ? previous[j - 1] + 1 : max(previous[j], row[j - 1])
            }
            swap(&previous, &row)
        }
        let lcs = Double(previous[p.count])
        let precision = lcs / Double(p.count)
        let recall = lcs / Double(t.count)
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }
}
