import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// NLTK parity for the Porter stemmer (`PorterStemmer()`, NLTK_EXTENSIONS, NLTK 3.10.4) against
/// `Tests/Fixtures/tokenizers/porter_stems.json`, written by `Tools/golden/porter_stemmer.py`.
@Suite struct PorterStemmerTests {
    struct Golden: Decodable {
        let nltk: String
        let pairs: [[String]]
    }

    @Test func matchesNLTK() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("tokenizers/porter_stems.json")))
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        #expect(golden.nltk == "3.10.4")
        #expect(golden.pairs.count > 3000)
        let stemmer = PorterStemmer()
        var mismatches: [String] = []
        for pair in golden.pairs {
            guard pair.count == 2 else {
                Issue.record("malformed pair \(pair)")
                continue
            }
            let stem = stemmer.stem(pair[0])
            if stem != pair[1] { mismatches.append("\(pair[0]) -> \(stem), NLTK \(pair[1])") }
        }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) of \(golden.pairs.count) stems differ from NLTK's: \(mismatches.prefix(10).joined(separator: "; "))")
    }

    @Test func workedExamples() {
        let stemmer = PorterStemmer()
        let examples: [(String, String)] = [
            // Porter's paper
            ("caresses", "caress"), ("ponies", "poni"), ("agreed", "agre"), ("feed", "feed"), ("hopping", "hop"),
            ("filing", "file"), ("happy", "happi"), ("relational", "relat"), ("conditional", "condit"),
            ("rational", "ration"), ("adjustment", "adjust"), ("adoption", "adopt"), ("communism", "commun"),
            ("bowdlerize", "bowdler"), ("controll", "control"), ("roll", "roll"),
            // NLTK's extensions: irregular forms, four-letter -ies/-ied, y after a consonant, alli, logi
            ("sky", "sky"), ("skies", "sky"), ("dying", "die"), ("news", "news"), ("innings", "inning"),
            ("proceed", "proceed"), ("succeeded", "succeed"), ("ties", "tie"), ("dies", "die"), ("flies", "fli"),
            ("died", "die"), ("spied", "spi"), ("enjoy", "enjoy"), ("rationalli", "ration"), ("geology", "geolog"),
            ("generously", "gener"), ("yyyy", "yyyi"),
            // lower-casing, digits, short words
            ("Running", "run"), ("GENEROUSLY", "gener"), ("AS", "as"), ("is", "is"), ("1990s", "1990"), ("", ""),
        ]
        for (word, expected) in examples {
            #expect(stemmer.stem(word) == expected, "stem(\(word))")
        }
    }
}
