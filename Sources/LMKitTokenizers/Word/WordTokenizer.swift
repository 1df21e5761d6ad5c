/// Splits running text into words the way `nltk.word_tokenize(text)` does (NLTK 3.10.4, English):
/// Punkt finds the sentences, then the Treebank rules split each sentence into tokens.
///
///     let punkt = PunktSentenceTokenizer(parameters: try PunktParameters(pythonFile: path))
///     WordTokenizer(punkt: punkt).tokenize("I love learning about LLMs")
///     // ["I", "love", "learning", "about", "LLMs"]
public struct WordTokenizer: Sendable {
    /// The sentence splitter.
    public let punkt: PunktSentenceTokenizer
    private let words = TreebankWordTokenizer()

    /// A word tokenizer over the given sentence splitter (load it from `punkt/english.py`).
    public init(punkt: PunktSentenceTokenizer) {
        self.punkt = punkt
    }

    /// The word tokens of `text`, sentence after sentence.
    public func tokenize(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var tokens: [String] = []
        for sentence in punkt.spans(scalars: s) {
            tokens += words.tokenize(scalars: Array(s[sentence]))
        }
        return tokens
    }
}
