/// Splits text into sentences with a trained Punkt model, exactly as NLTK 3.10.4's
/// `PunktSentenceTokenizer(params).span_tokenize(text)` / `.tokenize(text)` do.
///
/// Reference: Kiss & Strunk (2006), "Unsupervised Multilingual Sentence Boundary Detection";
/// NLTK 3.10.4 `nltk/tokenize/punkt.py` (`_slices_from_text`, `_match_potential_end_contexts`,
/// `text_contains_sentbreak`, `_realign_boundaries`). Python works on code points, so this does too.
///
///     let punkt = PunktSentenceTokenizer(parameters: try PunktParameters(pythonFile: path))
///     punkt.sentences("Mr. Smith arrived. He sat down.")
///     // ["Mr. Smith arrived.", "He sat down."]
public struct PunktSentenceTokenizer: Sendable {
    /// The parameters the tokenizer was built with.
    public let parameters: PunktParameters
    let model: PunktModel

    /// A tokenizer for a trained model.
    public init(parameters: PunktParameters) {
        self.parameters = parameters
        model = PunktModel(parameters)
    }

    /// The UTF-8 byte range of each sentence of `text`, in order (NLTK's `span_tokenize`, realigned).
    ///
    /// Whitespace between sentences belongs to none of them; closing quotes and brackets after the
    /// final period belong to the sentence they close.
    public func spans(_ text: String) -> [Range<Int>] {
        let s = Array(text.unicodeScalars)
        let scalarSpans = spans(scalars: s)
        // Scalar index → UTF-8 offset; spans come in increasing order, so walk once.
        var out: [Range<Int>] = []
        out.reserveCapacity(scalarSpans.count)
        var index = 0, byte = 0
        func offset(_ target: Int) -> Int {
            if target < index { index = 0; byte = 0 }  // never happens (spans are ordered); stay correct anyway
            while index < target { byte += UTF8.width(s[index]); index += 1 }
            return byte
        }
        for r in scalarSpans {
            let a = offset(r.lowerBound)
            out.append(a..<offset(r.upperBound))
        }
        return out
    }

    /// The sentences of `text` (NLTK's `tokenize`), each a substring of `text`.
    public func sentences(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        return spans(scalars: s).map { String(String.UnicodeScalarView(s[$0])) }
    }

    /// Sentence ranges in code point indices.
    func spans(scalars s: [Unicode.Scalar]) -> [Range<Int>] {
        realigned(s, slices(s))
    }

    /// A Python slice `text[start:stop]`, which may be empty or even reversed.
    struct Slice {
        var start: Int
        var stop: Int
    }

    /// A match of `_period_context_fmt`: `[.?!](?=(?P<after_tok>NonWord|\s+(?P<next_tok>\S+)))`.
    struct PeriodContext {
        let position: Int  // the `.`, `?` or `!`
        let afterEnd: Int  // end of `after_tok`
        let nextToken: Int?  // start of `next_tok`
    }

    static func periodContext(_ s: [Unicode.Scalar], at i: Int) -> PeriodContext? {
        guard i + 1 < s.count else { return nil }
        let c = s[i + 1]
        if PunktWords.isNonWord(c) { return PeriodContext(position: i, afterEnd: i + 2, nextToken: nil) }
        guard PythonCharacters.isRegexSpace(c) else { return nil }
        var j = i + 1
        while j < s.count && PythonCharacters.isRegexSpace(s[j]) { j += 1 }
        guard j < s.count else { return nil }  // \s+ then \S+: nothing after the spaces, no match
        var k = j
        while k < s.count && !PythonCharacters.isRegexSpace(s[k]) { k += 1 }
        return PeriodContext(position: i, afterEnd: k, nextToken: j)
    }

    /// `_slices_from_text` over `_match_potential_end_contexts`.
    func slices(_ s: [Unicode.Scalar]) -> [Slice] {
        var slices: [Slice] = []
        var lastBreak = 0
        // A candidate's context is the word before it (from its last ASCII whitespace), the
        // punctuation, and `after_tok`: always the contiguous text `s[wordStart..<afterEnd]`.
        func decide(_ m: PeriodContext, wordStart: Int) {
            if containsSentenceBreak(s, wordStart, m.afterEnd) {
                slices.append(Slice(start: lastBreak, stop: m.position + 1))
                lastBreak = m.nextToken ?? m.position + 1
            }
        }
        var previous: PeriodContext? = nil
        var previousStart = 0, previousStop = 0  // previous_slice
        for i in 0..<s.count {
            let c = s[i]
            guard c == "." || c == "?" || c == "!", let m = Self.periodContext(s, at: i) else { continue }
            // `_get_last_whitespace_index(text[previous_slice.stop:match.start()])`, whose 0 means
            // both "none" and "at index 0": either way the word starts where the previous one did.
            var k = i - 1
            while k >= previousStop && !PythonCharacters.isASCIIWhitespace(s[k]) { k -= 1 }
            let wordStart = k > previousStop ? k + 1 : previousStart
            // A candidate whose word overlaps the next one's ("acting!!!") is decided by the last.
            if let p = previous, previousStop <= wordStart { decide(p, wordStart: previousStart) }
            previous = m
            previousStart = wordStart
            previousStop = i
        }
        if let p = previous { decide(p, wordStart: previousStart) }
        var end = s.count  // len(text.rstrip())
        while end > 0 && PythonCharacters.isSpace(s[end - 1]) { end -= 1 }
        slices.append(Slice(start: lastBreak, stop: end))
        return slices
    }

    /// `text_contains_sentbreak`: whether a token other than the last is a sentence break once
    /// both annotation passes have run.
    func containsSentenceBreak(_ s: [Unicode.Scalar], _ start: Int, _ end: Int) -> Bool {
        var previous: PunktToken? = nil
        var found = false
        PunktWords.forEachToken(inText: s, start, end) { r in
            var token = PunktToken(s[r])
            model.annotateFirstPass(&token)
            if var p = previous {
                model.annotateSecondPass(&p, next: token)
                if p.sentbreak { found = true; return false }
            }
            previous = token
            return true
        }
        return found
    }

    /// `_realign_boundaries`: closing quotes and brackets after a break move to the sentence before.
    func realigned(_ s: [Unicode.Scalar], _ slices: [Slice]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var realign = 0
        func append(_ a: Int, _ b: Int) {
            // Python's text[a:b] is empty when b <= a; NLTK never yields such a slice here.
            out.append(a..<max(a, b))
        }
        for k in slices.indices {
            let s1 = Slice(start: slices[k].start + realign, stop: slices[k].stop)
            let nonEmpty = s1.start < min(s1.stop, s.count)
            guard k + 1 < slices.count else {
                if nonEmpty { append(s1.start, s1.stop) }
                continue
            }
            let s2 = slices[k + 1]
            if let (kept, matched) = Self.boundaryRealignment(s, s2.start, min(s2.stop, s.count)) {
                append(s1.start, s2.start + kept)
                realign = matched
            } else {
                realign = 0
                if nonEmpty { append(s1.start, s1.stop) }
            }
        }
        return out
    }

    /// `re_boundary_realignment.match(text[start:end])` with the pattern
    /// `["\')\]}‘’“”«»]+?(?:\s+|(?=--)|$)` (MULTILINE): the number of closing characters, and the
    /// length of the whole match (those characters and the whitespace after them).
    static func boundaryRealignment(_ s: [Unicode.Scalar], _ start: Int, _ end: Int) -> (Int, Int)? {
        var p = start
        while p < end, isClosing(s[p]) {
            p += 1  // lazy: the fewest closing characters that a terminator follows
            if p < end && PythonCharacters.isRegexSpace(s[p]) {
                var q = p
                while q < end && PythonCharacters.isRegexSpace(s[q]) { q += 1 }
                return (p - start, q - start)
            }
            if p == end || (p + 1 < end && s[p] == "-" && s[p + 1] == "-") {
                return (p - start, p - start)
            }
        }
        return nil
    }

    @inline(__always)
    static func isClosing(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "\"", "'", ")", "]", "}", "\u{2018}", "\u{2019}", "\u{201C}", "\u{201D}", "\u{AB}", "\u{BB}": return true
        default: return false
        }
    }
}
