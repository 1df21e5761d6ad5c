import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// GPT-2 byte-level BPE against tiktoken (r50k_base) and Hugging Face tokenizers, which the golden
/// script checked agree with each other on every text.
@Suite struct GPT2ParityTests {
    static let fromMerges: Tokenizer? = {
        guard let v = Golden.asset(.gpt2, "vocab.json"), let m = Golden.asset(.gpt2, "merges.txt") else { return nil }
        return try? Tokenizer.gpt2(vocab: v, merges: m)
    }()
    static let fromTiktoken: Tokenizer? = {
        guard let r = Golden.asset(.gpt2, "gpt2.tiktoken") else { return nil }
        return try? Tokenizer.tiktoken(ranks: r)
    }()

    @Test("every id equals tiktoken's, from vocab.json + merges.txt and from the tiktoken file", arguments: [false, true])
    func textsMatch(tiktokenFile: Bool) throws {
        guard let tok = tiktokenFile ? Self.fromTiktoken : Self.fromMerges else { return }
        let cases = Golden.cases("gpt2")
        #expect(cases.count > 300)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String
            let expected = c["ids"] as! [Int]
            let ids = try tok.encodeIDs(text, specialTokens: .text)
            if ids != expected {
                mismatches += 1
                Issue.record("\(Golden.excerpt(text)): \(Golden.firstDifference(ids, expected))")
                if mismatches > 5 { return }
            }
            // Round trip: decode(encode(x)) == x for byte-level BPE.
            #expect(try tok.decode(ids) == text)
            #expect(try tok.encode(text, options: .init(specialTokens: .text)).ids == expected)
        }
    }

    @Test func invalidUTF8BytesMatchAndRoundTrip() throws {
        guard let tok = Self.fromMerges else { return }
        for c in Golden.cases("gpt2", "raw_bytes") {
            let bytes = Golden.bytes(hex: c["hex"] as! String)
            let ids = try tok.encode(bytes: bytes)
            #expect(ids == c["ids"] as! [Int], "bytes \(c["hex"]!)")
            #expect(try tok.decodeBytes(ids) == bytes)
        }
    }

    @Test func specialTokensAreRefusedUnlessAllowed() throws {
        guard let tok = Self.fromTiktoken else { return }
        for c in Golden.cases("gpt2", "special") {
            let text = c["text"] as! String
            #expect(try tok.encodeIDs(text, specialTokens: .allow) == c["ids"] as! [Int])
            #expect(throws: TokenizerError.self) { try tok.encodeIDs(text) }
            #expect(!(try tok.encodeIDs(text, specialTokens: .text)).contains(50256))
        }
        let error = #expect(throws: TokenizerError.self) { try tok.encode("a<|endoftext|>b") }
        #expect(error?.description.contains("<|endoftext|>") == true)
    }

    @Test func studyPathExample() throws {
        guard let tok = Self.fromMerges else { return }
        let e = try tok.encode("I love learning about LLMs")
        #expect(e.tokens == ["I", "Ġlove", "Ġlearning", "Ġabout", "ĠLL", "Ms"])
        #expect(e.offsets == [0..<1, 1..<6, 6..<15, 15..<21, 21..<24, 24..<26])
    }

    @Test func streamingDecoderHoldsBackPartialCharacters() throws {
        guard let tok = Self.fromMerges else { return }
        let text = "I ❤️ NLP 😀 — 我爱自然语言处理"
        let ids = try tok.encodeIDs(text)
        var stream = UTF8StreamDecoder()
        var pieces: [String] = []
        for id in ids { pieces.append(stream.push(tok.bytes(of: id)!)) }
        pieces.append(stream.finish())
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
    }

    @Test func randomUnicodeNeverCrashesAndRoundTrips() throws {
        guard let tok = Self.fromMerges else { return }
        var rng = SystemRandomNumberGenerator()
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x0...0x1F, 0xA0...0x2FF, 0x300...0x36F, 0x400...0x4FF, 0x590...0x6FF,
            0x2000...0x206F, 0x3040...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3, 0x1F300...0x1FAFF, 0xE0000...0xE007F,
        ]
        for _ in 0..<300 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...60, using: &rng) {
                let r = ranges.randomElement(using: &rng)!
                if let u = Unicode.Scalar(UInt32.random(in: r, using: &rng)) { s.append(u) }
            }
            let text = String(s)
            let ids = try tok.encodeIDs(text, specialTokens: .text)
            #expect(try tok.decode(ids) == text)
            var bytes = Array(text.utf8)
            if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0x80...0xFF, using: &rng) }
            #expect(try tok.decodeBytes(tok.encode(bytes: bytes)) == bytes)
        }
    }

    @Test func longPiecesUseTheHeapAndAgreeWithTheScan() throws {
        guard let tok = Self.fromMerges else { return }
        // 96 symbols and fewer use the array scan, more the heap; both must give BPE's result.
        for n in [90, 96, 97, 100, 300, 5000] {
            let word = String(repeating: "ab", count: n / 2)
            let ids = try tok.encodeIDs(word)
            #expect(try tok.decode(ids) == word)
            let half = try tok.encodeIDs(String(repeating: "ab", count: 10))
            if n == 90 { #expect(!half.isEmpty) }
        }
        let spaces = String(repeating: " ", count: 20000) + "x"
        #expect(try tok.decode(tok.encodeIDs(spaces)) == spaces)
    }
}
