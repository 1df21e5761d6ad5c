import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// Small `tokenizer.json` files trained by Hugging Face tokenizers with the components the big
/// assets do not use (Unigram + Metaspace + NFKC, Llama-2-style BPE with byte fallback, WordLevel
/// with Digits/Punctuation, BPE with suffix and prefix, RoBERTa-style byte-level), against the
/// ids, tokens, byte offsets and decoded text Hugging Face gives (Tools/golden/tokenizers_pipelines.py).
@Suite struct PipelineTests {
    nonisolated(unsafe) static let goldens = Golden.load("pipelines/goldens")  // read once, never mutated

    @Test(arguments: ["unigram", "llama_bpe", "wordlevel", "bpe_suffix", "roberta_style"])
    func matchesHuggingFace(name: String) throws {
        let tok = try Tokenizer(contentsOf: fixturePath("tokenizers/pipelines/\(name).json"))
        let golden = try #require(Self.goldens[name] as? [String: Any])
        let cases = try #require(golden["cases"] as? [[String: Any]])
        #expect(cases.count > 100)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String
            let e = try tok.encode(text, options: .init(specialTokens: .allow))
            let offsets = (c["offsets"] as! [[Int]]).map { $0[0]..<$0[1] }
            let decoded = try tok.decode(e.ids)
            let ok =
                e.ids == c["ids"] as! [Int] && e.tokens == c["tokens"] as! [String] && e.offsets == offsets
                && decoded == c["decoded"] as! String
            if !ok {
                mismatches += 1
                Issue.record(
                    """
                    \(name) \(Golden.excerpt(text)): \(Golden.firstDifference(e.ids, c["ids"] as! [Int]))
                      tokens \(e.tokens.prefix(12)) vs \((c["tokens"] as! [String]).prefix(12))
                      offsets \(zip(e.offsets, offsets).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "equal")
                      decoded \(Golden.excerpt(decoded)) vs \(Golden.excerpt(c["decoded"] as! String))
                    """)
                if mismatches > 3 { return }
            }
        }
        for p in golden["pairs"] as? [[String: Any]] ?? [] {
            let e = try tok.encode(p["a"] as! String, pair: p["b"] as? String)
            #expect(e.ids == p["ids"] as! [Int], "\(name) pair \(p["a"]!)")
            #expect(e.typeIds == p["type_ids"] as! [Int], "\(name) pair types \(p["a"]!)")
        }
    }

    /// Canonically equivalent spellings are different tokens: Swift's `String` equality (and so a
    /// `[String: Any]` from Foundation's JSON parser) would make ";" and U+037E, or "é" and "e" + U+0301,
    /// one key. Gemma's vocabulary has such pairs. Ids are compared, not strings, for the same reason.
    @Test func canonicallyEquivalentTokensStayApart() throws {
        // ids: ";" 0, U+037E 1, U+00E9 2, "e" 3, U+0301 4, "e"+U+0301 5 (a merge), "x" 6, `{["` 7.
        let json = #"""
            {"model": {"type": "BPE", "merges": [["e", "\u0301"]], "unk_token": null, "vocab":
              {";": 0, "\u037e": 1, "\u00e9": 2, "e": 3, "\u0301": 4, "e\u0301": 5, "x": 6, "{[\"": 7}},
             "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": false}}
            """#
        let tok = try Tokenizer(jsonData: Data(json.utf8))
        #expect(tok.vocabSize == 8 && tok.id(of: "{[\"") == 7)  // a key with brackets and an escape, read past by the scanner
        let cases: [(String, [Int])] = [
            (";", [0]), ("\u{37E}", [1]), ("\u{E9}", [2]), ("e\u{301}", [5]), ("\u{301}", [4]), ("x;\u{37E}", [6, 0, 1]),
        ]
        for (text, ids) in cases {
            #expect(try tok.encode(text).ids == ids, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test func unknownComponentsAreClearErrors() throws {
        let folder = TemporaryFolder(prefix: "lmkit-pipeline")
        let bad: [(String, String)] = [
            (#"{"model": {"type": "Mystery", "vocab": {}}}"#, "model type \"Mystery\""),
            (
                #"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}"#,
                "normalizer type \"Precompiled\""
            ),
            (
                #"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated", "invert": false}, "model": {"type": "WordLevel", "vocab": {"a": 0}}}"#,
                "Split regular expression"
            ),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, "merges[0]"),
            (#"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#, "[UNK]"),
            (#"{"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 0}}}"#, "id 0"),
            (#"{"model": "#, "not valid JSON"),
        ]
        for (json, expected) in bad {
            let path = folder.path + "/t.json"
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: TokenizerError.self) { try Tokenizer(contentsOf: path) }
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error") should mention \(expected)")
            #expect(error?.description.contains(path) == true)
        }
        #expect(throws: TokenizerError.self) { try Tokenizer(contentsOf: folder.path + "/missing.json") }
    }

    @Test func truncatedGGUFIsAnErrorNotACrash() throws {
        guard let path = Golden.asset(.gemma, "gemma-3-270m-q4_k_m.gguf") else { return }
        let folder = TemporaryFolder(prefix: "lmkit-gguf")
        let handle = try #require(FileHandle(forReadingAtPath: path))
        let head = handle.readData(ofLength: 3_000_000)
        for cut in [0, 3, 20, 1000, 100_000, 2_999_999] {
            let p = folder.path + "/cut\(cut).gguf"
            try head.prefix(cut).write(to: URL(fileURLWithPath: p))
            let error = #expect(throws: TokenizerError.self) { try Tokenizer(contentsOf: p) }
            #expect(error?.description.contains(p) == true)
        }
    }
}
