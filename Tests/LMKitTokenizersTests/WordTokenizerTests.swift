import Foundation
import LMKitTokenizers
import Testing

/// NLTK parity: `nltk.word_tokenize` and Punkt sentence splitting (NLTK 3.10.4, English model from
/// the asset cache) against `Tests/Fixtures/tokenizers/nltk.json`, written by
/// `Tools/golden/tokenizers_golden.py` with the same model.
@Suite struct WordTokenizerTests {
    /// One golden case: NLTK's sentences, their UTF-8 byte spans, and `word_tokenize`'s words.
    struct Case: Decodable {
        let text: String
        let sentences: [String]
        let spans: [[Int]]
        let words: [String]
    }

    struct NLTKGolden: Decodable {
        let cases: [Case]
    }

    static let fixture: String = {
        let tests = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")
        return tests + "/Fixtures/tokenizers/nltk.json"
    }()

    /// `${LMKIT_HOME:-~/.cache/lmkit}/punkt/english.py`, or nil (with a SKIPPED line) when absent.
    static func englishModel() throws -> PunktSentenceTokenizer? {
        let env = ProcessInfo.processInfo.environment
        let home = env["LMKIT_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache/lmkit")
        let path = home + "/punkt/english.py"
        guard FileManager.default.fileExists(atPath: path) else {
            print("SKIPPED: NLTK parity needs the Punkt model \(path); run scripts/fetch-assets --only punkt")
            return nil
        }
        return PunktSentenceTokenizer(parameters: try PunktParameters(pythonFile: path))
    }

    /// Python compares strings code point by code point; Swift's `==` by canonical equivalence.
    static func scalars(_ strings: [String]) -> [[Unicode.Scalar]] { strings.map { Array($0.unicodeScalars) } }

    /// "at 12: mine ["a", "b"] NLTK ["a", "c"]", around the first position where the lists differ.
    static func firstDifference<T: Equatable>(_ mine: [T], _ reference: [T], show: (T) -> String) -> String? {
        guard mine != reference else { return nil }
        let k = zip(mine, reference).prefix { $0 == $1 }.count
        func window(_ a: [T]) -> String {
            let lo = max(0, k - 2), hi = min(a.count, k + 3)
            return "[" + a[lo..<hi].map(show).joined(separator: ", ") + "]"
        }
        return "first difference at \(k) of \(mine.count) (NLTK \(reference.count)): mine \(window(mine)) NLTK \(window(reference))"
    }

    @Test func matchesNLTKOnEveryGoldenCase() throws {
        guard let punkt = try Self.englishModel() else { return }
        // JSONDecoder, not JSONSerialization: the latter drops a U+FEFF that opens a string.
        guard let data = FileManager.default.contents(atPath: Self.fixture) else {
            Issue.record("missing fixture \(Self.fixture); run Tools/golden/tokenizers_golden.py")
            return
        }
        let golden = try JSONDecoder().decode(NLTKGolden.self, from: data)
        #expect(golden.cases.count > 100)
        let words = WordTokenizer(punkt: punkt)
        var failures = 0
        for (n, c) in golden.cases.enumerated() {
            var problems: [String] = []
            let spans = punkt.spans(c.text).map { [$0.lowerBound, $0.upperBound] }
            if let d = Self.firstDifference(spans, c.spans, show: { "\($0)" }) { problems.append("spans: \(d)") }
            let sentences = Self.scalars(punkt.sentences(c.text))
            if let d = Self.firstDifference(
                sentences, Self.scalars(c.sentences), show: { String(String.UnicodeScalarView($0)).debugDescription })
            {
                problems.append("sentences: \(d)")
            }
            let tokens = Self.scalars(words.tokenize(c.text))
            if let d = Self.firstDifference(tokens, Self.scalars(c.words), show: { String(String.UnicodeScalarView($0)).debugDescription })
            {
                problems.append("words: \(d)")
            }
            if problems.isEmpty { continue }
            failures += 1
            if failures == 1 {
                let text = String(c.text.prefix(300))
                print(
                    "First NLTK mismatch, case \(n) of \(golden.cases.count): \(text.debugDescription)\n  "
                        + problems.joined(separator: "\n  "))
                Issue.record("case \(n): \(problems.joined(separator: "; "))")
            }
        }
        #expect(failures == 0, "\(failures) of \(golden.cases.count) cases differ from NLTK")
    }

    @Test func studyPathExample() throws {
        guard let punkt = try Self.englishModel() else { return }
        let words = WordTokenizer(punkt: punkt).tokenize("I love learning about LLMs")
        #expect(words == ["I", "love", "learning", "about", "LLMs"])
    }

    @Test func punktKeepsAbbreviationsAndClosingQuotes() throws {
        guard let punkt = try Self.englishModel() else { return }
        let text = "Mr. Smith met Dr. Watson. \"Is it late?\" he asked. (Yes.) Then they left."
        #expect(
            punkt.sentences(text) == [
                "Mr. Smith met Dr. Watson.", "\"Is it late?\"", "he asked.", "(Yes.)", "Then they left.",
            ])
        // Byte offsets count UTF-8: "é" is two bytes.
        #expect(punkt.spans("Café au lait. Très bon.") == [0..<14, 15..<25])
    }

    /// NLTK's own doctest for `NLTKWordTokenizer.tokenize` (no model needed).
    @Test func treebankDoctest() {
        let s = "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks."
        #expect(
            TreebankWordTokenizer().tokenize(s) == [
                "Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in", "New", "York.",
                "Please", "buy", "me", "two", "of", "them.", "Thanks", ".",
            ])
    }

    /// Expected lists printed by NLTK 3.10.4. "'tis" stays split as "'", "tis": the opening-quote
    /// rule runs before CONTRACTIONS3 and already separates the quote.
    @Test func treebankQuotesAndContractions() {
        let t = TreebankWordTokenizer()
        #expect(
            t.tokenize("\"I cannot,\" she said, \"it's 'tis gonna rain.\"") == [
                "``", "I", "can", "not", ",", "''", "she", "said", ",", "``", "it", "'s", "'", "tis", "gon", "na", "rain", ".", "''",
            ])
        #expect(t.tokenize("They'll pay $3.88, won't they?") == ["They", "'ll", "pay", "$", "3.88", ",", "wo", "n't", "they", "?"])
        #expect(t.tokenize("") == [])
    }
}
