/// Splits one sentence into Penn-Treebank-style word tokens, exactly as NLTK 3.10.4's
/// `NLTKWordTokenizer().tokenize(sentence)` does (`convert_parentheses=False`).
///
/// Reference: NLTK 3.10.4 `nltk/tokenize/destructive.py` (the improved Treebank tokenizer that
/// `nltk.word_tokenize` runs on each sentence). The rules are regular-expression substitutions
/// applied one after the other to the whole string; `TreebankRules` holds one scanner per regex.
///
///     TreebankWordTokenizer().tokenize("They'll pay $3.88, won't they?")
///     // ["They", "'ll", "pay", "$", "3.88", ",", "wo", "n't", "they", "?"]
///
/// It expects a single sentence: a period is split off only at the end of the text
/// ("in New York.  Please" keeps "York."). Use `WordTokenizer` for running text.
public struct TreebankWordTokenizer: Sendable {
    /// A tokenizer (it has no settings).
    public init() {}

    /// The tokens of `sentence`.
    public func tokenize(_ sentence: String) -> [String] {
        tokenize(scalars: Array(sentence.unicodeScalars))
    }

    func tokenize(scalars: [Unicode.Scalar]) -> [String] {
        typealias R = TreebankRules
        var s = scalars

        // STARTING_QUOTES
        s = R.openingQuotes(s)
        s = R.initialDoubleQuote(s)
        s = R.doubleBackquotes(s)
        s = R.quoteAfterOpening(s)
        s = R.openingSingleQuote(s)

        // PUNCTUATION
        s = R.finalPeriod(s, spaceInClass: true)
        s = R.colonCommaBeforeNonDigit(s)
        s = R.colonCommaAtEnd(s)
        s = R.ellipses(s)
        s = R.pad(s) { c in c == ";" || c == "@" || c == "#" || c == "$" || c == "%" || c == "&" }  // [;@#$%&]
        s = R.pad(s) { c in c.value >= 0x2012 && c.value <= 0x2015 }  // [\u2012-\u2015]: figure, en, em dashes, bar
        s = R.finalPeriod(s, spaceInClass: false)
        s = R.pad(s) { c in c == "?" || c == "!" }  // [?!]
        s = R.closingSingleQuote(s)
        s = R.pad(s) { c in c == "*" }  // [*]

        // PARENS_BRACKETS: [\]\[\(\)\{\}\<\>]
        s = R.pad(s) { c in c == "]" || c == "[" || c == "(" || c == ")" || c == "{" || c == "}" || c == "<" || c == ">" }
        // DOUBLE_DASHES
        s = R.doubleDashes(s)

        s = [" "] + s + [" "]  // "add extra space to make things easier"

        // ENDING_QUOTES
        s = R.pad(s) { c in c == "\u{BB}" || c == "\u{201D}" || c == "\u{2019}" }  // ([»”’])
        s = R.closingDoubleQuotes(s)
        s = R.collapsedSpaces(s)
        s = R.clitics1(s)
        s = R.clitics2(s)

        // CONTRACTIONS2, CONTRACTIONS3 (MacIntyre's list; CONTRACTIONS4 is unused, as in NLTK)
        for (first, second, spaceAfter) in Self.contractions2 {
            s = R.contraction(s, first, second, spaceAfter: spaceAfter)
        }
        s = R.archaicT(s, Self.tis)
        s = R.archaicT(s, Self.twas)

        return Self.split(s)
    }

    private static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    /// `(?i)\b(can)(?#X)(not)\b`, ..., `(?i)\b(wan)(?#X)(na)(?=\s)`
    private static let contractions2: [([Unicode.Scalar], [Unicode.Scalar], Bool)] = [
        ("can", "not", false), ("d", "'ye", false), ("gim", "me", false), ("gon", "na", false),
        ("got", "ta", false), ("lem", "me", false), ("more", "'n", false), ("wan", "na", true),
    ].map { (scalars($0.0), scalars($0.1), $0.2) }
    private static let tis = scalars("is")
    private static let twas = scalars("was")

    /// `str.split()`: runs of Python whitespace separate tokens.
    static func split(_ s: [Unicode.Scalar]) -> [String] {
        var tokens: [String] = []
        var i = 0
        while i < s.count {
            if PythonCharacters.isSpace(s[i]) { i += 1; continue }
            var j = i + 1
            while j < s.count && !PythonCharacters.isSpace(s[j]) { j += 1 }
            tokens.append(String(String.UnicodeScalarView(s[i..<j])))
            i = j
        }
        return tokens
    }
}
