import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// BERT WordPiece (bert-base-uncased vocabulary of all-MiniLM-L6-v2) against Hugging Face tokenizers.
@Suite struct BertParityTests {
    static let fromJSON: Tokenizer? = {
        guard let p = Golden.asset(.minilm, "tokenizer.json"), var t = try? Tokenizer(contentsOf: p) else { return nil }
        t.truncation = nil
        t.padding = nil
        return t
    }()
    static let fromVocab: Tokenizer? = {
        guard let p = Golden.asset(.minilm, "vocab.txt") else { return nil }
        return try? Tokenizer.bert(vocab: p)
    }()

    @Test("ids, tokens and byte offsets equal Hugging Face's, from tokenizer.json and from vocab.txt", arguments: [false, true])
    func textsMatch(vocabTxt: Bool) throws {
        guard let tok = vocabTxt ? Self.fromVocab : Self.fromJSON else { return }
        let cases = Golden.cases("bert")
        #expect(cases.count > 300)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String
            let e = try tok.encode(text, options: .init(specialTokens: .allow))
            let expectedOffsets = (c["offsets"] as! [[Int]]).map { $0[0]..<$0[1] }
            let ok = e.ids == c["ids"] as! [Int] && e.tokens == c["tokens"] as! [String] && e.offsets == expectedOffsets
            if !ok {
                mismatches += 1
                Issue.record(
                    "\(Golden.excerpt(text)): \(Golden.firstDifference(e.ids, c["ids"] as! [Int])); tokens \(e.tokens.prefix(12)) vs \((c["tokens"] as! [String]).prefix(12)); offsets \(zip(e.offsets, expectedOffsets).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "equal")"
                )
                if mismatches > 5 { return }
            }
        }
    }

    @Test func pairsHaveTokenTypes() throws {
        guard let tok = Self.fromJSON else { return }
        for c in Golden.cases("bert", "pairs") {
            let e = try tok.encode(c["a"] as! String, pair: c["b"] as? String)
            #expect(e.ids == c["ids"] as! [Int])
            #expect(e.typeIds == c["type_ids"] as! [Int])
            #expect(e.tokens == c["tokens"] as! [String])
        }
    }

    @Test func truncationKeepsSpecialTokens() throws {
        guard var tok = Self.fromJSON else { return }
        for c in Golden.cases("bert", "truncated") {
            tok.truncation = Truncation(maxLength: c["max_length"] as! Int)
            let e = try tok.encode(c["text"] as! String)
            #expect(e.ids == c["ids"] as! [Int])
            #expect(!e.overflowing.isEmpty)
        }
    }

    @Test func studyPathExample() throws {
        guard let tok = Self.fromJSON else { return }
        let e = try tok.encode("Transformers power modern LLMs")
        #expect(e.tokens == ["[CLS]", "transformers", "power", "modern", "ll", "##ms", "[SEP]"])
        #expect(e.ids == [101, 19081, 2373, 2715, 2222, 5244, 102])
        #expect(try tok.decode(e.ids) == "transformers power modern llms")
    }

    @Test func batchPadsToTheLongestWithMasks() throws {
        guard var tok = Self.fromJSON else { return }
        tok.padding = Padding()
        let batch = try tok.encodeBatch(["a short one", "a somewhat longer sentence than that one"])
        #expect(batch[0].count == batch[1].count)
        #expect(batch[0].attentionMask.last == 0)
        #expect(batch[0].ids.last == 0)
        #expect(batch[1].attentionMask.allSatisfy { $0 == 1 })
        let single = try tok.encode("a short one")
        #expect(Array(batch[0].ids.prefix(single.count)) == single.ids)
    }
}
