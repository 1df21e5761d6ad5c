/// Punkt's view of a text: its word tokens (`PunktLanguageVars.word_tokenize`) and the annotations
/// that decide sentence breaks (`PunktToken`, `_first_pass_annotation`, `_second_pass_annotation`,
/// `_ortho_heuristic` in NLTK 3.10.4 `nltk/tokenize/punkt.py`).

/// One Punkt token with its annotations: NLTK's `PunktToken`.
struct PunktToken {
    /// The token text.
    let tok: ArraySlice<Unicode.Scalar>
    /// `tok.lower()`, or `##number##` for numbers (`_get_type`).
    let type: [Unicode.Scalar]
    var sentbreak = false
    var abbr = false
    var ellipsis = false

    init(_ tok: ArraySlice<Unicode.Scalar>) {
        self.tok = tok
        let lower = PythonCharacters.lowercased(tok)
        type = Self.isNumeric(lower) ? Self.numberType : lower
    }

    static let numberType: [Unicode.Scalar] = Array("##number##".unicodeScalars)

    /// `_RE_NUMERIC = r"^-?[\.,]?\d[\d,\.-]*\.?$"` (the trailing `\.?` is inside the class already;
    /// each optional prefix can only be taken one way, so no backtracking is needed).
    static func isNumeric(_ s: [Unicode.Scalar]) -> Bool {
        var i = 0
        if i < s.count && s[i] == "-" { i += 1 }
        if i < s.count && (s[i] == "." || s[i] == ",") { i += 1 }
        guard i < s.count, PythonCharacters.isDecimal(s[i]) else { return false }
        i += 1
        while i < s.count {
            let c = s[i]
            guard c == "," || c == "." || c == "-" || PythonCharacters.isDecimal(c) else { return false }
            i += 1
        }
        return true
    }

    var periodFinal: Bool { tok.last == "." }

    /// The type without its final period, if it has one and is longer than one character.
    var typeNoPeriod: ArraySlice<Unicode.Scalar> {
        type.count > 1 && type.last == "." ? type.dropLast() : type[...]
    }

    /// The type without its final period if the token was marked as a sentence break.
    var typeNoSentPeriod: ArraySlice<Unicode.Scalar> { sentbreak ? typeNoPeriod : type[...] }

    var firstUpper: Bool { tok.first.map(PythonCharacters.isUpper) ?? false }
    var firstLower: Bool { tok.first.map(PythonCharacters.isLower) ?? false }

    /// `_RE_ELLIPSIS = r"\.\.+$"` matched at the start: two or more periods and nothing else.
    var isEllipsis: Bool { tok.count >= 2 && tok.allSatisfy { $0 == "." } }

    /// `_RE_INITIAL = r"[^\W\d]\.$"`: one letter-like word character and a period.
    var isInitial: Bool {
        guard tok.count == 2, let c = tok.first, tok.last == "." else { return false }
        return PythonCharacters.isRegexWord(c) && !PythonCharacters.isDecimal(c)
    }
}

/// The parameters of a model, keyed by code points: Python compares strings code point by code
/// point, Swift's `String ==` by canonical equivalence (`"\u{212A}" == "K"` in Swift, not in Python).
struct PunktModel: Sendable {
    struct Pair: Hashable, Sendable {
        let first: [Unicode.Scalar]
        let second: [Unicode.Scalar]
    }

    let abbreviations: Set<[Unicode.Scalar]>
    let collocations: Set<Pair>
    let sentenceStarters: Set<[Unicode.Scalar]>
    let orthographicContext: [[Unicode.Scalar]: Int]

    init(_ p: PunktParameters) {
        abbreviations = Set(p.abbreviations.map { Array($0.unicodeScalars) })
        collocations = Set(p.collocations.map { Pair(first: Array($0.first.unicodeScalars), second: Array($0.second.unicodeScalars)) })
        sentenceStarters = Set(p.sentenceStarters.map { Array($0.unicodeScalars) })
        var ortho: [[Unicode.Scalar]: Int] = [:]
        for (k, v) in p.orthographicContext { ortho[Array(k.unicodeScalars)] = v }
        orthographicContext = ortho
    }

    // Orthographic context flags (`_ORTHO_*`).
    static let begUC = 1 << 1, midUC = 1 << 2, unkUC = 1 << 3
    static let begLC = 1 << 4, midLC = 1 << 5, unkLC = 1 << 6
    static let upper = begUC | midUC | unkUC
    static let lower = begLC | midLC | unkLC

    func ortho(_ type: ArraySlice<Unicode.Scalar>) -> Int { orthographicContext[Array(type)] ?? 0 }

    /// `_first_pass_annotation`: decisions from the token's own type.
    func annotateFirstPass(_ t: inout PunktToken) {
        let tok = t.tok
        if tok.count == 1, let c = tok.first, c == "." || c == "?" || c == "!" {
            t.sentbreak = true
        } else if t.isEllipsis {
            t.ellipsis = true
        } else if t.periodFinal && !(tok.count >= 2 && tok[tok.endIndex - 2] == ".") {
            // tok[:-1].lower() in abbrev_types or tok[:-1].lower().split("-")[-1] in abbrev_types
            let base = PythonCharacters.lowercased(tok.dropLast())
            let lastPart = base.lastIndex(of: "-").map { Array(base[($0 + 1)...]) } ?? base
            if abbreviations.contains(base) || abbreviations.contains(lastPart) {
                t.abbr = true
            } else {
                t.sentbreak = true
            }
        }
    }

    /// `_ortho_heuristic`: true, false, or nil for NLTK's `"unknown"`.
    func orthoHeuristic(_ t: PunktToken) -> Bool? {
        // `aug_tok.tok in self.PUNCTUATION` with PUNCTUATION = tuple(";:,.!?")
        if t.tok.count == 1, let c = t.tok.first, c == ";" || c == ":" || c == "," || c == "." || c == "!" || c == "?" {
            return false
        }
        let context = ortho(t.typeNoSentPeriod)
        if t.firstUpper && context & Self.lower != 0 && context & Self.midUC == 0 { return true }
        if t.firstLower && (context & Self.upper != 0 || context & Self.begLC == 0) { return false }
        return nil
    }

    /// `_second_pass_annotation`: decisions for a period-final token from the token after it.
    func annotateSecondPass(_ t1: inout PunktToken, next t2: PunktToken) {
        guard t1.periodFinal else { return }
        let typ = t1.typeNoPeriod
        let nextTyp = t2.typeNoSentPeriod
        let isInitial = t1.isInitial

        if collocations.contains(Pair(first: Array(typ), second: Array(nextTyp))) {
            t1.sentbreak = false
            t1.abbr = true
            return
        }
        if (t1.abbr || t1.ellipsis) && !isInitial {
            if orthoHeuristic(t2) == true {
                t1.sentbreak = true
                return
            }
            if t2.firstUpper && sentenceStarters.contains(Array(nextTyp)) {
                t1.sentbreak = true
                return
            }
        }
        if isInitial || typ.elementsEqual(PunktToken.numberType) {
            let starter = orthoHeuristic(t2)
            if starter == false {
                t1.sentbreak = false
                t1.abbr = true
                return
            }
            if starter == nil && isInitial && t2.firstUpper && ortho(nextTyp) & Self.lower == 0 {
                t1.sentbreak = false
                t1.abbr = true
            }
        }
    }
}

/// `PunktLanguageVars.word_tokenize`: `findall` of NLTK's word regex over one line,
///
///     (?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)                  # MultiChar
///     | (?=[^\(\"\`{\[:;&\#\*@\)}\]\-,])\S+?            # WordStart, then the shortest run
///       (?= \s | $ | NonWord | MultiChar | ,(?=$|\s|NonWord|MultiChar) )
///     | \S
///
/// with NonWord = `[)\";}\]\*:@\'\({\[‘’“”«»?!]` and `\s` the `regex` module's.
enum PunktWords {
    @inline(__always)
    static func isNonWord(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case ")", "\"", ";", "}", "]", "*", ":", "@", "'", "(", "{", "[", "?", "!",
            "\u{2018}", "\u{2019}", "\u{201C}", "\u{201D}", "\u{AB}", "\u{BB}":
            return true
        default: return false
        }
    }

    /// The complement of `_re_word_start`: characters that cannot start a word token.
    @inline(__always)
    static func cannotStartWord(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "(", "\"", "`", "{", "[", ":", ";", "&", "#", "*", "@", ")", "}", "]", "-", ",": return true
        default: return false
        }
    }

    /// End of a MultiChar match at `i` (line ends at `end`), or nil.
    static func multiChar(_ s: [Unicode.Scalar], _ i: Int, _ end: Int) -> Int? {
        guard i + 1 < end else { return nil }
        let c = s[i]
        if (c == "-" || c == ".") && s[i + 1] == c {  // \-{2,} | \.{2,}
            var j = i + 2
            while j < end && s[j] == c { j += 1 }
            return j
        }
        // (?:\.\s){2,}\. : the most pairs, then a period; or one pair fewer, whose period is there.
        var pairs = 0, p = i
        while p + 1 < end && s[p] == "." && PythonCharacters.isRegexSpace(s[p + 1]) { pairs += 1; p += 2 }
        if pairs >= 2 && p < end && s[p] == "." { return p + 1 }
        if pairs >= 3 { return p - 1 }
        return nil
    }

    /// The lookahead that ends a word token before position `j`.
    @inline(__always)
    static func isWordEnd(_ s: [Unicode.Scalar], _ j: Int, _ end: Int) -> Bool {
        if j >= end { return true }
        let c = s[j]
        if PythonCharacters.isRegexSpace(c) || isNonWord(c) || multiChar(s, j, end) != nil { return true }
        if c == "," {
            let k = j + 1
            return k >= end || PythonCharacters.isRegexSpace(s[k]) || isNonWord(s[k]) || multiChar(s, k, end) != nil
        }
        return false
    }

    /// Calls `body` with each token of the line `s[start..<end]` (which holds no `\n`), in order;
    /// stops when `body` returns false.
    static func forEachToken(_ s: [Unicode.Scalar], _ start: Int, _ end: Int, _ body: (Range<Int>) -> Bool) {
        var i = start
        while i < end {
            let c = s[i]
            if PythonCharacters.isRegexSpace(c) { i += 1; continue }
            var j: Int
            if let e = multiChar(s, i, end) {
                j = e
            } else if !cannotStartWord(c) {
                j = i + 1
                while !isWordEnd(s, j, end) { j += 1 }
            } else {
                j = i + 1
            }
            if !body(i..<j) { return }
            i = j
        }
    }

    /// `PunktBaseClass._tokenize_words`: the tokens of each `\n`-separated line that is not blank
    /// (`line.strip()`), in order; stops when `body` returns false.
    static func forEachToken(inText s: [Unicode.Scalar], _ start: Int, _ end: Int, _ body: (Range<Int>) -> Bool) {
        var lineStart = start
        while lineStart <= end {
            var lineEnd = lineStart
            while lineEnd < end && s[lineEnd] != "\n" { lineEnd += 1 }
            var keepGoing = true
            if s[lineStart..<lineEnd].contains(where: { !PythonCharacters.isSpace($0) }) {
                forEachToken(s, lineStart, lineEnd) { r in
                    keepGoing = body(r)
                    return keepGoing
                }
            }
            if !keepGoing { return }
            lineStart = lineEnd + 1
        }
    }
}
