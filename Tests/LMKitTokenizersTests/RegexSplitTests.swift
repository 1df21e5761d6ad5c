import Foundation
@testable import LMKitTokenizers
import LMKitTensor
import Testing
import TestSupport

/// Llama 3's and Qwen2's pre-tokenizer patterns, written out by hand in ``Llama3Split``, against
/// Hugging Face tokenizers' `Split(Regex(pattern), "isolated")` (Oniguruma; tiktoken's `regex`
/// module agrees on every text) on 214 texts: 126 from the shared tokenizer texts and 88 edge cases
/// (contractions in any case and `'ſ`, digit runs, every line-break and Unicode-space combination,
/// combining marks, scripts, emoji). Then whole tokenizers: tiny byte-level BPE `tokenizer.json`
/// files trained with each pattern give the same ids and decoded text (`Tools/golden/regex_pretokenizers.py`).
@Suite struct RegexSplitTests {
    struct Case: Decodable {
        struct Result: Decodable { let offsets: [[Int]]; let ids: [Int]; let decoded: String }
        let text: String
        let llama3: Result
        let qwen2: Result
    }
    struct File: Decodable { let patterns: [String: String]; let cases: [Case] }

    static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath("tokenizers/regex_splits.json"))))
    }

    @Test(arguments: [("llama3", 3), ("qwen2", 1)]) func splitMatchesTokenizers(name: String, digits: Int) throws {
        let file = try Self.load()
        #expect(Llama3Split.patterns[try #require(file.patterns[name])] == digits, "the pattern string of \(name) is recognized")
        var failures = 0
        for c in file.cases {
            let bytes = Array(c.text.utf8)
            var pieces: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { Llama3Split.split($0, 0..<bytes.count, maxDigits: digits, into: &pieces) }
            let expected = (name == "llama3" ? c.llama3 : c.qwen2).offsets.map { $0[0]..<$0[1] }
            if pieces != expected {
                failures += 1
                if failures <= 5 { Issue.record("\(name) \(c.text.debugDescription): \(pieces) vs \(expected)") }
            }
        }
        #expect(failures == 0, "\(failures) of \(file.cases.count) texts split differently")
    }

    @Test(arguments: ["llama3", "qwen2"]) func tokenizerJSONMatchesTokenizers(name: String) throws {
        let file = try Self.load()
        let tokenizer = try Tokenizer(contentsOf: fixturePath("tokenizers/\(name)-style/tokenizer.json"))
        var failures = 0
        for c in file.cases {
            let expected = name == "llama3" ? c.llama3 : c.qwen2
            let ids = try tokenizer.encode(c.text, options: .init(addSpecialTokens: true, specialTokens: .allow)).ids  // as Hugging Face
            let decoded = try tokenizer.decode(ids, skipSpecialTokens: false)
            if ids != expected.ids || decoded != expected.decoded {
                failures += 1
                if failures <= 3 {
                    Issue.record("\(name) \(c.text.prefix(60).debugDescription): ids \(ids.prefix(20)) vs \(expected.ids.prefix(20))")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(file.cases.count) texts encode differently")
    }
}
