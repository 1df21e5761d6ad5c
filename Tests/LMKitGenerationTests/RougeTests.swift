import Foundation
import LMKitGeneration
import Testing
import TestSupport

/// ROUGE against Google's rouge-score 0.1.2 (`Tools/golden/rouge.py`): the tokens, and rouge1,
/// rouge2, rougeL and rougeLsum precision, recall and F-measure, with and without Porter stemming,
/// on 74 pairs (varied texts, multi-line summaries, edge cases). Counts are integers, so the only
/// difference allowed is float rounding (1e-12).
@Suite struct RougeTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let reference: String, prediction: String
            let plain: [String: Value], stemmed: [String: Value]
        }
        enum Value: Decodable {
            case scores([Double]), tokens([[String]])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let t = try? c.decode([[String]].self) { self = .tokens(t) } else { self = .scores(try c.decode([Double].self)) }
            }
        }
        let cases: [Case]
    }

    @Test(arguments: [false, true])
    func matchesRougeScore(stemming: Bool) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("generation/rouge.json")))
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        #expect(golden.cases.count == 74)
        let rouge = Rouge(stemming: stemming)
        var failures: [String] = []
        for c in golden.cases {
            let expected = stemming ? c.stemmed : c.plain
            if case .tokens(let t)? = expected["tokens"], rouge.tokens(c.reference) != t[0] || rouge.tokens(c.prediction) != t[1] {
                failures.append("tokens of \(c.reference.prefix(40).debugDescription)")
                continue
            }
            let s = rouge.score(reference: c.reference, prediction: c.prediction)
            for (name, score) in [("rouge1", s.rouge1), ("rouge2", s.rouge2), ("rougeL", s.rougeL), ("rougeLsum", s.rougeLsum)] {
                guard case .scores(let e)? = expected[name] else { failures.append("\(name) missing"); continue }
                let got = [score.precision, score.recall, score.fmeasure]
                if zip(got, e).contains(where: { abs($0 - $1) > 1e-12 }) {
                    failures.append(
                        "\(name) of \(c.reference.prefix(30).debugDescription) / \(c.prediction.prefix(30).debugDescription): \(got) vs \(e)"
                    )
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) mismatches, first: \(failures.prefix(3))")
    }

    @Test func meanAveragesEachScore() {
        let rouge = Rouge()
        let m = rouge.mean(references: ["a b c", "a b c d"], predictions: ["a b c", "x"])
        #expect(m.rouge1.fmeasure == 0.5 && m.rouge1.recall == 0.5 && m.rougeL.precision == 0.5)
    }
}
