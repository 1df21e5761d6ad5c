import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// Random Unicode through every tokenizer: never a crash; lossless ones give the text back; streaming
/// decode gives the same text as decoding all at once.
@Suite struct PropertyTests {
    static func randomText(_ rng: inout some RandomNumberGenerator) -> String {
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x0...0x1F, 0xA0...0x2FF, 0x300...0x36F, 0x400...0x4FF, 0x590...0x6FF,
            0x900...0x97F, 0x2000...0x206F, 0x3040...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3,
            0xFE00...0xFE0F, 0xFFF0...0xFFFF, 0x1F300...0x1FAFF, 0xE0000...0xE007F, 0x10FFF0...0x10FFFF,
        ]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...80, using: &rng) {
            if let u = Unicode.Scalar(UInt32.random(in: ranges.randomElement(using: &rng)!, using: &rng)) { s.append(u) }
        }
        return String(s)
    }

    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func everyTokenizerTakesAnyText() throws {
        var tokenizers: [(String, Tokenizer, Bool)] = []
        if let t = GPT2ParityTests.fromMerges { tokenizers.append(("gpt2", t, true)) }
        if let t = BertParityTests.fromJSON { tokenizers.append(("bert", t, false)) }
        if let t = GemmaParityTests.tokenizer { tokenizers.append(("gemma", t, true)) }
        for name in ["unigram", "llama_bpe", "wordlevel", "bpe_suffix", "roberta_style"] {
            tokenizers.append((name, try Tokenizer(contentsOf: fixturePath("tokenizers/pipelines/\(name).json")), false))
        }
        var rng = SeededGenerator(state: 7)
        for _ in 0..<200 {
            let text = Self.randomText(&rng)
            for (name, tok, lossless) in tokenizers {
                let e = try tok.encode(text, options: .init(specialTokens: .text))
                #expect(e.offsets.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= text.utf8.count }, "\(name)")
                let decoded = try tok.decode(e.ids)
                if lossless { #expect(decoded == text, "\(name): \(text.unicodeScalars.map { String($0.value, radix: 16) })") }
                var stream = tok.decodeStream()
                var streamed = ""
                for id in e.ids { streamed += try stream.step(id) ?? "" }
                streamed += try stream.finish()
                #expect(streamed == decoded, "\(name) streaming")
            }
        }
    }

    @Test func wordTokenizerTakesAnyText() throws {
        guard let path = Golden.asset(.punkt, "english.py") else { return }
        let words = WordTokenizer(punkt: PunktSentenceTokenizer(parameters: try PunktParameters(pythonFile: path)))
        var rng = SeededGenerator(state: 11)
        for _ in 0..<300 {
            let text = Self.randomText(&rng)
            let spans = words.punkt.spans(text)
            #expect(spans.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= text.utf8.count })
            _ = words.tokenize(text)
        }
    }

    @Test func neverSplitKeepsWordsWhole() throws {
        guard let vocab = Golden.asset(.minilm, "vocab.txt") else { return }
        let plain = try Tokenizer.bert(vocab: vocab)
        let protected = try Tokenizer.bert(vocab: vocab, neverSplit: ["[XYZ]", "Hello"])
        let split = try plain.encode("say [XYZ] now", options: .init(addSpecialTokens: false)).tokens
        #expect(split.first == "say" && split[1] == "[" && split.contains("]") && split.last == "now", "\(split)")
        // Not lower-cased, not split at the brackets: WordPiece sees the word as it is.
        #expect(try protected.encode("say [XYZ] now", options: .init(addSpecialTokens: false)).tokens == ["say", "[UNK]", "now"])
        #expect(try protected.encode("Hello there", options: .init(addSpecialTokens: false)).tokens == ["[UNK]", "there"])
        // Only whole whitespace-delimited words.
        #expect(try protected.encode("Hello, there", options: .init(addSpecialTokens: false)).tokens == ["hello", ",", "there"])
    }
}
