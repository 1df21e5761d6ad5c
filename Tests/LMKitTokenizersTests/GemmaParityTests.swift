import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// The Gemma 3 SentencePiece vocabulary read from the GGUF asset, against sentencepiece on a model
/// rebuilt from the same vocabulary (see Tools/golden/tokenizers_golden.py).
@Suite struct GemmaParityTests {
    static let tokenizer: Tokenizer? = {
        guard let p = Golden.asset(.gemma, "gemma-3-270m-q4_k_m.gguf") else { return nil }
        return try? Tokenizer(contentsOf: p)
    }()

    @Test func textsMatchSentencePiece() throws {
        guard let tok = Self.tokenizer else { return }
        let cases = Golden.cases("gemma")
        #expect(cases.count > 300)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String
            let e = try tok.encode(text, options: .init(addSpecialTokens: false, specialTokens: .text))
            if e.ids != c["ids"] as! [Int] || e.tokens != c["pieces"] as! [String] {
                mismatches += 1
                Issue.record("\(Golden.excerpt(text)): \(Golden.firstDifference(e.ids, c["ids"] as! [Int])) tokens \(e.tokens.prefix(10))")
                if mismatches > 5 { return }
            }
            #expect(try tok.decode(e.ids) == text)
        }
    }

    @Test func invalidBytesBecomeReplacementCharacters() throws {
        guard let tok = Self.tokenizer else { return }
        for c in Golden.cases("gemma", "raw_bytes") {
            let text = Golden.replacingEachInvalidByte(Golden.bytes(hex: c["hex"] as! String))
            #expect(try tok.encodeIDs(text, specialTokens: .text) == c["ids"] as! [Int], "bytes \(c["hex"]!)")
        }
    }

    @Test func addsBOSAndKnowsControlTokens() throws {
        guard let tok = Self.tokenizer else { return }
        let e = try tok.encode("Hello")
        #expect(e.ids.first == 2)
        #expect(tok.id(of: "<start_of_turn>") == 105)
        #expect(try tok.encodeIDs("<start_of_turn>user", specialTokens: .allow).first == 105)
        #expect(throws: TokenizerError.self) { try tok.encode("<start_of_turn>user") }
    }
}
