/// The Porter stemmer as NLTK runs it: `nltk.stem.porter.PorterStemmer()` in its default
/// `NLTK_EXTENSIONS` mode.
///
/// Reference: M. F. Porter (1980), "An algorithm for suffix stripping", Program 14(3):130–137;
/// NLTK 3.10.4 `nltk/stem/porter.py`, whose `NLTK_EXTENSIONS` mode this mirrors rule for rule:
/// Martin Porter's later changes (`bli` → `ble`, `logi` → `log`, no stemming of words of one or
/// two characters) plus NLTK's own (a pool of irregular forms, `ies`/`ied` on four-letter words,
/// `alli` tried first and the result re-run through step 2, `y` → `i` only after a consonant that
/// is not the whole stem, and a two-letter `*o` condition).
///
/// It is the stemmer behind rouge-score's `use_stemmer=True`, which stems every token longer than
/// three characters:
///
///     let stemmer = PorterStemmer()
///     stemmer.stem("generously")     // "gener"
///     stemmer.stem("agreed")         // "agre"
///     stemmer.stem("dying")          // "die" (an irregular form)
///     stemmer.stem("Relational")     // "relat" (the word is lower-cased first)
///
/// Letters other than `a e i o u` and `y` count as consonants, digits and non-ASCII letters
/// included, as in NLTK. Lower-casing is Swift's `lowercased()`; it equals Python's `str.lower()`
/// on ASCII (the only input rouge-score passes) and can differ on rare non-ASCII cases such as the
/// Greek final sigma.
public struct PorterStemmer: Sendable {
    /// A stemmer (it has no settings: NLTK's default mode).
    public init() {}

    /// The stem of `word`, lower-cased first, exactly as NLTK 3.10.4's
    /// `PorterStemmer().stem(word)` (`to_lowercase=True`).
    public func stem(_ word: String) -> String {
        let lowered = word.lowercased()
        if let irregular = Self.irregularForms[lowered] { return irregular }
        // NLTK tests the length of the word as given, before lower-casing.
        if word.unicodeScalars.count <= 2 { return lowered }
        var w = Array(lowered.unicodeScalars)
        w = Self.step1a(w)
        w = Self.step1b(w)
        w = Self.step1c(w)
        w = Self.step2(w)
        w = Self.step3(w)
        w = Self.step4(w)
        w = Self.step5a(w)
        w = Self.step5b(w)
        var out = String.UnicodeScalarView()
        out.append(contentsOf: w)
        return String(out)
    }

    // MARK: Irregular forms

    /// NLTK's pool: each irregular form and the stem it maps to.
    static let irregularForms: [String: String] = {
        let groups: [(String, [String])] = [
            ("sky", ["sky", "skies"]),
            ("die", ["dying"]),
            ("lie", ["lying"]),
            ("tie", ["tying"]),
            ("news", ["news"]),
            ("inning", ["innings", "inning"]),
            ("outing", ["outings", "outing"]),
            ("canning", ["cannings", "canning"]),
            ("howe", ["howe"]),
            ("proceed", ["proceed"]),
            ("exceed", ["exceed"]),
            ("succeed", ["succeed"]),
        ]
        var pool: [String: String] = [:]
        for (stem, forms) in groups {
            for form in forms { pool[form] = stem }
        }
        return pool
    }()

    // MARK: Letters

    typealias Letters = [Unicode.Scalar]

    static func letters(_ s: String) -> Letters { Array(s.unicodeScalars) }

    static func isVowelLetter(_ c: Unicode.Scalar) -> Bool {
        c == "a" || c == "e" || c == "i" || c == "o" || c == "u"
    }

    /// Whether each letter is a consonant: not a vowel, and for `y`, not preceded by a consonant
    /// (a `y` that begins the word is a consonant).
    static func consonantFlags(_ w: ArraySlice<Unicode.Scalar>) -> [Bool] {
        var flags: [Bool] = []
        flags.reserveCapacity(w.count)
        for c in w {
            if isVowelLetter(c) {
                flags.append(false)
            } else if c == "y" {
                flags.append(flags.last.map { !$0 } ?? true)
            } else {
                flags.append(true)
            }
        }
        return flags
    }

    /// Porter's m: the number of vowel-run/consonant-run pairs in [C](VC){m}[V].
    static func measure(_ w: ArraySlice<Unicode.Scalar>) -> Int {
        let flags = consonantFlags(w)
        var m = 0
        for i in flags.indices.dropFirst() where flags[i] && !flags[i - 1] { m += 1 }
        return m
    }

    static func containsVowel(_ w: ArraySlice<Unicode.Scalar>) -> Bool {
        consonantFlags(w).contains(false)
    }

    /// Condition *d: the word ends with two equal consonants.
    static func endsDoubleConsonant(_ w: ArraySlice<Unicode.Scalar>) -> Bool {
        guard w.count >= 2, w[w.endIndex - 1] == w[w.endIndex - 2] else { return false }
        return consonantFlags(w).last == true
    }

    /// Condition *o: consonant–vowel–consonant at the end, the last not `w`, `x` or `y`; or (NLTK) a
    /// two-letter word vowel–consonant.
    static func endsCVC(_ w: ArraySlice<Unicode.Scalar>) -> Bool {
        let f = consonantFlags(w)
        let n = f.count
        if n >= 3, f[n - 3], !f[n - 2], f[n - 1] {
            let last = w[w.endIndex - 1]
            if last != "w" && last != "x" && last != "y" { return true }
        }
        return n == 2 && !f[0] && f[1]
    }

    static func hasSuffix(_ w: Letters, _ suffix: Letters) -> Bool {
        w.count >= suffix.count && w[(w.count - suffix.count)...].elementsEqual(suffix)
    }

    /// `w` without its last `n` letters.
    static func dropping(_ w: Letters, _ n: Int) -> ArraySlice<Unicode.Scalar> {
        w[..<(w.count - n)]
    }

    // MARK: Rule lists

    enum Condition: Sendable {
        case always
        /// m > 0 of the stem.
        case measureAbove0
        /// m > 1 of the stem.
        case measureAbove1
        /// m > 1 and the stem ends in `s` or `t` (step 4's `ion`).
        case measureAbove1EndingSOrT
        /// m > 0 of the stem with the suffix's first letter kept (step 2's `logi`, whose `l` stays).
        case measureAbove0KeepingOne
    }

    struct Rule: Sendable {
        let suffix: Letters
        let replacement: Letters
        let condition: Condition

        init(_ suffix: String, _ replacement: String, _ condition: Condition) {
            self.suffix = PorterStemmer.letters(suffix)
            self.replacement = PorterStemmer.letters(replacement)
            self.condition = condition
        }
    }

    static func holds(_ condition: Condition, word: Letters, suffixLength: Int) -> Bool {
        let stem = dropping(word, suffixLength)
        switch condition {
        case .always: return true
        case .measureAbove0: return measure(stem) > 0
        case .measureAbove1: return measure(stem) > 1
        case .measureAbove1EndingSOrT:
            guard let last = stem.last, last == "s" || last == "t" else { return false }
            return measure(stem) > 1
        case .measureAbove0KeepingOne: return measure(dropping(word, suffixLength - 1)) > 0
        }
    }

    /// NLTK's `_apply_rule_list`: the first rule whose suffix the word ends with decides; if its
    /// condition fails the word is returned unchanged and no later rule is tried.
    static func apply(_ rules: [Rule], to word: Letters) -> Letters {
        for rule in rules where hasSuffix(word, rule.suffix) {
            guard holds(rule.condition, word: word, suffixLength: rule.suffix.count) else { return word }
            return Array(dropping(word, rule.suffix.count)) + rule.replacement
        }
        return word
    }

    // MARK: Steps

    static let step1aRules = [
        Rule("sses", "ss", .always), Rule("ies", "i", .always), Rule("ss", "ss", .always), Rule("s", "", .always),
    ]

    static func step1a(_ w: Letters) -> Letters {
        // NLTK: a four-letter -ies word keeps its "ie" ("dies" -> "die", but "flies" -> "fli").
        if w.count == 4, hasSuffix(w, letters("ies")) { return Array(dropping(w, 3)) + letters("ie") }
        return apply(step1aRules, to: w)
    }

    static func step1b(_ w: Letters) -> Letters {
        // NLTK: -ied becomes "ie" on a four-letter word, else "i"; nothing more is done in this step.
        if hasSuffix(w, letters("ied")) {
            return Array(dropping(w, 3)) + letters(w.count == 4 ? "ie" : "i")
        }
        if hasSuffix(w, letters("eed")) {
            return measure(dropping(w, 3)) > 0 ? Array(dropping(w, 1)) : w
        }
        var stem: Letters?
        for suffix in ["ed", "ing"] {
            let s = letters(suffix)
            if hasSuffix(w, s), containsVowel(dropping(w, s.count)) {
                stem = Array(dropping(w, s.count))
                break
            }
        }
        guard let s = stem else { return w }
        for (ending, restored) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] where hasSuffix(s, letters(ending)) {
            return Array(dropping(s, 2)) + letters(restored)
        }
        if endsDoubleConsonant(s[...]) {
            guard let last = s.last, last != "l", last != "s", last != "z" else { return s }
            return Array(dropping(s, 1))
        }
        if measure(s[...]) == 1, endsCVC(s[...]) { return s + letters("e") }
        return s
    }

    static func step1c(_ w: Letters) -> Letters {
        // NLTK: y -> i only after a consonant, and not when that consonant is the whole stem.
        guard hasSuffix(w, letters("y")) else { return w }
        let stem = dropping(w, 1)
        guard stem.count > 1, consonantFlags(stem).last == true else { return w }
        return Array(stem) + letters("i")
    }

    static let step2Rules = [
        Rule("ational", "ate", .measureAbove0),
        Rule("tional", "tion", .measureAbove0),
        Rule("enci", "ence", .measureAbove0),
        Rule("anci", "ance", .measureAbove0),
        Rule("izer", "ize", .measureAbove0),
        Rule("bli", "ble", .measureAbove0),
        Rule("alli", "al", .measureAbove0),
        Rule("entli", "ent", .measureAbove0),
        Rule("eli", "e", .measureAbove0),
        Rule("ousli", "ous", .measureAbove0),
        Rule("ization", "ize", .measureAbove0),
        Rule("ation", "ate", .measureAbove0),
        Rule("ator", "ate", .measureAbove0),
        Rule("alism", "al", .measureAbove0),
        Rule("iveness", "ive", .measureAbove0),
        Rule("fulness", "ful", .measureAbove0),
        Rule("ousness", "ous", .measureAbove0),
        Rule("aliti", "al", .measureAbove0),
        Rule("iviti", "ive", .measureAbove0),
        Rule("biliti", "ble", .measureAbove0),
        Rule("fulli", "ful", .measureAbove0),
        Rule("logi", "log", .measureAbove0KeepingOne),
    ]

    static func step2(_ w: Letters) -> Letters {
        // NLTK: -alli -> -al is tried before the list, and its result goes through step 2 again.
        if hasSuffix(w, letters("alli")), measure(dropping(w, 4)) > 0 {
            return step2(Array(dropping(w, 2)))
        }
        return apply(step2Rules, to: w)
    }

    static let step3Rules = [
        Rule("icate", "ic", .measureAbove0),
        Rule("ative", "", .measureAbove0),
        Rule("alize", "al", .measureAbove0),
        Rule("iciti", "ic", .measureAbove0),
        Rule("ical", "ic", .measureAbove0),
        Rule("ful", "", .measureAbove0),
        Rule("ness", "", .measureAbove0),
    ]

    static func step3(_ w: Letters) -> Letters { apply(step3Rules, to: w) }

    static let step4Rules = [
        Rule("al", "", .measureAbove1),
        Rule("ance", "", .measureAbove1),
        Rule("ence", "", .measureAbove1),
        Rule("er", "", .measureAbove1),
        Rule("ic", "", .measureAbove1),
        Rule("able", "", .measureAbove1),
        Rule("ible", "", .measureAbove1),
        Rule("ant", "", .measureAbove1),
        Rule("ement", "", .measureAbove1),
        Rule("ment", "", .measureAbove1),
        Rule("ent", "", .measureAbove1),
        Rule("ion", "", .measureAbove1EndingSOrT),
        Rule("ou", "", .measureAbove1),
        Rule("ism", "", .measureAbove1),
        Rule("ate", "", .measureAbove1),
        Rule("iti", "", .measureAbove1),
        Rule("ous", "", .measureAbove1),
        Rule("ive", "", .measureAbove1),
        Rule("ize", "", .measureAbove1),
    ]

    static func step4(_ w: Letters) -> Letters { apply(step4Rules, to: w) }

    static func step5a(_ w: Letters) -> Letters {
        // Both rules are tried: (m > 1) E ->, then (m = 1 and not *o) E ->.
        guard hasSuffix(w, letters("e")) else { return w }
        let stem = dropping(w, 1)
        let m = measure(stem)
        if m > 1 || (m == 1 && !endsCVC(stem)) { return Array(stem) }
        return w
    }

    static func step5b(_ w: Letters) -> Letters {
        // (m > 1 and *d and *L) -> single letter; the measure is of the word less one "l".
        guard hasSuffix(w, letters("ll")) else { return w }
        return measure(dropping(w, 1)) > 1 ? Array(dropping(w, 1)) : w
    }
}
