/// The substitutions of NLTK's `NLTKWordTokenizer`, one scanner per regular expression.
///
/// Each rule is applied with Python's `re.sub` semantics: leftmost non-overlapping matches over the
/// whole string, scanning on after each match, with every lookbehind and lookahead reading the
/// string as it was before this rule ran. The comment on each rule quotes the regex and the
/// replacement from NLTK 3.10.4 `nltk/tokenize/destructive.py`.
enum TreebankRules {
    typealias Text = [Unicode.Scalar]

    /// `re.sub` with `rule(s, i, &out)`: when the pattern matches at `i`, the rule appends the
    /// replacement to `out` and returns the end of the match; otherwise it returns nil.
    /// The input comes back as is (no copy) when nothing matches.
    static func substitute(_ s: Text, _ rule: (Text, Int, inout Text) -> Int?) -> Text {
        var out = Text()
        var copied = 0  // s[..<copied] is in `out` (or unchanged while nothing matched)
        var matched = false
        var i = 0
        var scratch = Text()  // every rule appends only when it matches
        while i < s.count {
            if let end = rule(s, i, &scratch) {
                if !matched { out.reserveCapacity(s.count + s.count / 4 + 8); matched = true }
                out.append(contentsOf: s[copied..<i])
                out.append(contentsOf: scratch)
                scratch.removeAll(keepingCapacity: true)
                copied = end
                i = end
            } else {
                i += 1
            }
        }
        guard matched else { return s }
        out.append(contentsOf: s[copied...])
        return out
    }

    /// `re.sub(r"[...]", r" \g<0> ", s)` for a one-character class: pads each such character.
    static func pad(_ s: Text, _ inClass: (Unicode.Scalar) -> Bool) -> Text {
        guard s.contains(where: inClass) else { return s }
        var out = Text()
        out.reserveCapacity(s.count + s.count / 4 + 8)
        for c in s {
            if inClass(c) { out.append(" "); out.append(c); out.append(" ") } else { out.append(c) }
        }
        return out
    }

    // MARK: Starting quotes

    /// `([«“‘„]|[`]+)` → ` \1 `
    static func openingQuotes(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            let c = s[i]
            if c == "\u{AB}" || c == "\u{201C}" || c == "\u{2018}" || c == "\u{201E}" {
                out += [" ", c, " "]
                return i + 1
            }
            guard c == "`" else { return nil }
            var j = i + 1
            while j < s.count && s[j] == "`" { j += 1 }
            out.append(" "); out += s[i..<j]; out.append(" ")
            return j
        }
    }

    /// `^\"` → ` `` ` (only at the very start: no MULTILINE)
    static func initialDoubleQuote(_ s: Text) -> Text {
        guard s.first == "\"" else { return s }
        return ["`", "`"] + s.dropFirst()
    }

    /// `(``)` → ` \1 `
    static func doubleBackquotes(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] == "`", i + 1 < s.count, s[i + 1] == "`" else { return nil }
            out += [" ", "`", "`", " "]
            return i + 2
        }
    }

    /// `([ \(\[{<])(\"|\'{2})` → ``\1 `` ``
    static func quoteAfterOpening(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            let c = s[i]
            guard c == " " || c == "(" || c == "[" || c == "{" || c == "<", i + 1 < s.count else { return nil }
            let end: Int
            if s[i + 1] == "\"" {
                end = i + 2
            } else if s[i + 1] == "'", i + 2 < s.count, s[i + 2] == "'" {
                end = i + 3
            } else {
                return nil
            }
            out += [c, " ", "`", "`", " "]
            return end
        }
    }

    /// `(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)` → `\1 ` (the `regex` module's `\w`, `\b`
    /// and simple case folding, under which `ſ` matches `s`)
    static func openingSingleQuote(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] == "'", i + 1 < s.count, PythonCharacters.isRegexWord(s[i + 1]),
                i == 0 || !PythonCharacters.isRegexWord(s[i - 1])
            else { return nil }
            for clitic in clitics where matches(s, at: i + 1, clitic, engine: .regex) {
                let after = i + 1 + clitic.count
                if after == s.count || !PythonCharacters.isRegexWord(s[after]) { return nil }
            }
            out += ["'", " "]
            return i + 1
        }
    }

    private static let clitics: [Text] = ["re", "ve", "ll", "m", "t", "s", "d", "n"].map { Array($0.unicodeScalars) }

    // MARK: Punctuation

    /// `([^\.])(\.)([\]\)}>"\'»”’ ]*+)\s*$` → `\1 \2 \3 ` (with the space in the class), and
    /// `([^\.])(\.)([\]\)}>"\']*)\s*$` → `\1 \2\3 ` (without). A period before closing characters
    /// and whitespace that run to the end. Backtracking cannot help either pattern: the class holds
    /// no character that `\s*$` could use otherwise, so each is matched possessively.
    static func finalPeriod(_ s: Text, spaceInClass: Bool) -> Text {
        substitute(s) { s, i, out in
            let n = s.count
            guard i + 1 < n, s[i + 1] == ".", s[i] != "." else { return nil }
            var j = i + 2
            while j < n && isClosingForFinalPeriod(s[j], space: spaceInClass) { j += 1 }
            var k = j
            while k < n && PythonCharacters.isRegexSpace(s[k]) { k += 1 }
            guard k == n else { return nil }  // `$` also matches before a final "\n", which `\s*` took
            out.append(s[i])
            out += spaceInClass ? [" ", ".", " "] : [" ", "."]
            out += s[(i + 2)..<j]
            out.append(" ")
            return n
        }
    }

    @inline(__always)
    private static func isClosingForFinalPeriod(_ c: Unicode.Scalar, space: Bool) -> Bool {
        switch c {
        case "]", ")", "}", ">", "\"", "'": return true
        case "\u{BB}", "\u{201D}", "\u{2019}", " ": return space
        default: return false
        }
    }

    /// `([:,])([^\d])` → ` \1 \2`
    static func colonCommaBeforeNonDigit(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            let c = s[i]
            guard c == ":" || c == ",", i + 1 < s.count, !PythonCharacters.isDecimal(s[i + 1]) else { return nil }
            out += [" ", c, " ", s[i + 1]]
            return i + 2
        }
    }

    /// `([:,])$` → ` \1 ` (`$`: the end, or before a final "\n")
    static func colonCommaAtEnd(_ s: Text) -> Text {
        let n = s.count
        var at = -1
        if n >= 1 && (s[n - 1] == ":" || s[n - 1] == ",") {
            at = n - 1
        } else if n >= 2 && s[n - 1] == "\n" && (s[n - 2] == ":" || s[n - 2] == ",") {
            at = n - 2
        }
        guard at >= 0 else { return s }
        return Array(s[..<at]) + [" ", s[at], " "] + s[(at + 1)...]
    }

    /// `\.{2,}` → ` \g<0> `
    static func ellipses(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] == ".", i + 1 < s.count, s[i + 1] == "." else { return nil }
            var j = i + 2
            while j < s.count && s[j] == "." { j += 1 }
            out.append(" "); out += s[i..<j]; out.append(" ")
            return j
        }
    }

    /// `([^'])' ` → `\1 ' `
    static func closingSingleQuote(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] != "'", i + 2 < s.count, s[i + 1] == "'", s[i + 2] == " " else { return nil }
            out += [s[i], " ", "'", " "]
            return i + 3
        }
    }

    /// `--` → ` -- `
    static func doubleDashes(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] == "-", i + 1 < s.count, s[i + 1] == "-" else { return nil }
            out += [" ", "-", "-", " "]
            return i + 2
        }
    }

    // MARK: Ending quotes

    /// `''` → ` '' `, then `"` → ` '' ` (two passes: the first one's output is the second's input)
    static func closingDoubleQuotes(_ s: Text) -> Text {
        let pairs = substitute(s) { s, i, out in
            guard s[i] == "'", i + 1 < s.count, s[i + 1] == "'" else { return nil }
            out += [" ", "'", "'", " "]
            return i + 2
        }
        return substitute(pairs) { s, i, out in
            guard s[i] == "\"" else { return nil }
            out += [" ", "'", "'", " "]
            return i + 1
        }
    }

    /// `\s+` → ` ` (the `regex` module's `\s`: `\x1c`–`\x1f` stay, and `str.split` removes them later)
    static func collapsedSpaces(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            guard PythonCharacters.isRegexSpace(s[i]) else { return nil }
            var j = i + 1
            while j < s.count && PythonCharacters.isRegexSpace(s[j]) { j += 1 }
            if j == i + 1 && s[i] == " " { return nil }  // unchanged; saves a copy
            out.append(" ")
            return j
        }
    }

    /// `([^' ])('[sS]|'[mM]|'[dD]|') ` → `\1 \2 `
    static func clitics1(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            let c = s[i]
            guard c != "'", c != " ", i + 2 < s.count, s[i + 1] == "'" else { return nil }
            switch s[i + 2] {
            case "s", "S", "m", "M", "d", "D":
                if i + 3 < s.count && s[i + 3] == " " {
                    out += [c, " ", "'", s[i + 2], " "]
                    return i + 4
                }
            default: break
            }
            guard s[i + 2] == " " else { return nil }  // the bare `'` alternative
            out += [c, " ", "'", " "]
            return i + 3
        }
    }

    /// `([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ` → `\1 \2 `
    static func clitics2(_ s: Text) -> Text {
        substitute(s) { s, i, out in
            let c = s[i]
            guard c != "'", c != " ", i + 4 < s.count, s[i + 4] == " " else { return nil }
            let a = s[i + 1], b = s[i + 2], d = s[i + 3]
            let ok =
                (a == "'"
                    && ((b == "l" && d == "l") || (b == "L" && d == "L") || (b == "r" && d == "e")
                        || (b == "R" && d == "E") || (b == "v" && d == "e") || (b == "V" && d == "E")))
                || (a == "n" && b == "'" && d == "t") || (a == "N" && b == "'" && d == "T")
            guard ok else { return nil }
            out += [c, " ", a, b, d, " "]
            return i + 5
        }
    }

    // MARK: Contractions (compiled with `re`, not `regex`: `re`'s `\w` and case folding)

    /// `(?i)\b(first)(?#X)(second)\b` → ` \1 \2 ` (`\b` after replaced by `(?=\s)` for "wanna").
    static func contraction(_ s: Text, _ first: Text, _ second: Text, spaceAfter: Bool = false) -> Text {
        substitute(s) { s, i, out in
            guard i == 0 || !PythonCharacters.isReWord(s[i - 1]),
                matches(s, at: i, first, engine: .re)
            else { return nil }
            let mid = i + first.count
            guard matches(s, at: mid, second, engine: .re) else { return nil }
            let end = mid + second.count
            if spaceAfter {
                guard end < s.count, PythonCharacters.isSpace(s[end]) else { return nil }
            } else if end < s.count && PythonCharacters.isReWord(s[end]) {
                return nil
            }
            out.append(" "); out += s[i..<mid]; out.append(" "); out += s[mid..<end]; out.append(" ")
            return end
        }
    }

    /// `(?i) ('t)(?#X)(is)\b` and `(?i) ('t)(?#X)(was)\b` → ` \1 \2 `
    static func archaicT(_ s: Text, _ word: Text) -> Text {
        substitute(s) { s, i, out in
            guard s[i] == " ", i + 2 < s.count, s[i + 1] == "'", matches(s, at: i + 2, ["t"], engine: .re),
                matches(s, at: i + 3, word, engine: .re)
            else { return nil }
            let end = i + 3 + word.count
            if end < s.count && PythonCharacters.isReWord(s[end]) { return nil }
            out += [" ", "'", s[i + 2], " "]; out += s[(i + 3)..<end]; out.append(" ")
            return end
        }
    }

    /// The two engines' case-insensitive matching of a lowercase ASCII literal. Measured on every
    /// code point for the letters these patterns use: besides the two ASCII cases, `re` lets `ſ`
    /// match `s` and `İ`, `ı` match `i`; `regex` lets `ſ` match `s` and `İ` match `i`.
    enum Engine { case re, regex }

    static func matches(_ s: Text, at i: Int, _ literal: Text, engine: Engine) -> Bool {
        guard i + literal.count <= s.count else { return false }
        for (k, l) in literal.enumerated() {
            let c = s[i + k]
            if c == l { continue }
            if l.value >= 0x61 && l.value <= 0x7A && c.value == l.value - 32 { continue }
            if l == "s" && c == "\u{17F}" { continue }
            if l == "i" && (c == "\u{130}" || (engine == .re && c == "\u{131}")) { continue }
            return false
        }
        return true
    }
}
