import Foundation
import Testing
import TestSupport

/// `lmkit tokenize`, `lmkit tokenizer train` and the tokenizers tour chapter, as a user runs them.
extension CommandTests {
    func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    @Test func tokenizeTheStudyPathExamples() throws {
        guard TestAssets.available(.punkt), TestAssets.available(.minilm), TestAssets.available(.gpt2) else { return }
        let word = try jsonLines(try lmkit("tokenize", "--tokenizer", "word", "--json", "I love learning about LLMs").stdout)
        #expect(word.first?["tokens"] as? [String] == ["I", "love", "learning", "about", "LLMs"])
        #expect(word.first?["ids"] == nil)
        let bert = try jsonLines(try lmkit("tokenize", "-t", "bert", "--json", "Transformers power modern LLMs", "second text").stdout)
        #expect(bert.count == 2)
        #expect(bert.first?["tokens"] as? [String] == ["transformers", "power", "modern", "ll", "##ms"])
        #expect(bert.first?["ids"] as? [Int] == [19081, 2373, 2715, 2222, 5244])
        let withSpecial = try jsonLines(try lmkit("tokenize", "-t", "bert", "--add-special", "--json", "LLMs").stdout)
        #expect(withSpecial.first?["tokens"] as? [String] == ["[CLS]", "ll", "##ms", "[SEP]"])
        let table = try lmkit("tokenize", "-t", "gpt2", "I love learning about LLMs")
        #expect(table.status == 0 && table.stdout.contains("1842  Ġlove") && table.stdout.contains("6 tokens"), "\(table.stdout)")
    }

    @Test func specialTokensAreRefusedWithAHint() throws {
        guard TestAssets.available(.gpt2) else { return }
        let refused = try lmkit("tokenize", "-t", "gpt2", "Hello<|endoftext|>")
        #expect(
            refused.status != 0 && refused.stderr.contains("<|endoftext|>") && refused.stderr.contains("--special"), "\(refused.stderr)")
        let allowed = try jsonLines(try lmkit("tokenize", "-t", "gpt2", "--special", "allow", "--json", "Hello<|endoftext|>").stdout)
        #expect(allowed.first?["ids"] as? [Int] == [15496, 50256])
        let asText = try jsonLines(try lmkit("tokenize", "-t", "gpt2", "--special", "text", "--json", "Hello<|endoftext|>").stdout)
        #expect((asText.first?["ids"] as? [Int])?.contains(50256) == false)
    }

    @Test func tokenizeRejectsBadInput() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-tokenize")
        let bad = folder.path + "/latin1.txt"
        FileManager.default.createFile(atPath: bad, contents: Data([0x63, 0x61, 0x66, 0xE9]))
        let r = try lmkit("tokenize", "-t", "gpt2", "--file", bad)
        #expect(r.status != 0 && r.stderr.contains(bad) && r.stderr.contains("UTF-8"), "\(r.stderr)")
        let missing = try lmkit("tokenize", "-t", "/nonexistent/tokenizer.json", "x")
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/tokenizer.json"))
        let broken = folder.path + "/tokenizer.json"
        FileManager.default.createFile(atPath: broken, contents: Data(#"{"model": {"type": "Mystery"}}"#.utf8))
        let unsupported = try lmkit("tokenize", "-t", broken, "x")
        #expect(unsupported.status != 0 && unsupported.stderr.contains("Mystery"), "\(unsupported.stderr)")
        #expect(try lmkit("tokenize", "-t", "gpt2").status != 0)
    }

    @Test func trainThenTokenizeWithTheTrainedTokenizer() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-train")
        let corpus = folder.path + "/corpus.txt"
        var lines: [String] = []
        for i in 0..<2000 { lines.append("the quick brown fox \(i % 17) jumps over the lazy dog; tokenizers tokenize tokens") }
        FileManager.default.createFile(atPath: corpus, contents: Data(lines.joined(separator: "\n").utf8))
        for type in ["bpe", "wordpiece"] {
            let out = folder.path + "/\(type)"
            let r = try lmkit("tokenizer", "train", "--type", type, "--vocab-size", "300", corpus, "--out", out, "--json")
            #expect(r.status == 0, "\(r.stderr)")
            let report = try json(r.stdout)
            #expect((report["vocab_size"] as? Int ?? 0) > 100)
            #expect((report["files"] as? [String])?.contains(out + "/tokenizer.json") == true)
            let t = try jsonLines(try lmkit("tokenize", "-t", out, "--json", "the lazy dog").stdout)
            #expect((t.first?["tokens"] as? [String])?.isEmpty == false)
        }
        let bad = try lmkit(
            "tokenizer", "train", "--type", "bpe", "--vocab-size", "300", folder.path + "/missing.txt", "--out", folder.path + "/x")
        #expect(bad.status != 0 && bad.stderr.contains("missing.txt"))
    }

    @Test func tokenizersChapterReportsJSON() throws {
        guard TestAssets.available(.gpt2), TestAssets.available(.minilm), TestAssets.available(.shakespeare),
            TestAssets.available(.gensimData)
        else { return }
        let r = try lmkit("tour", "--chapter", "tokenizers", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        // A Shakespeare word vocabulary misses a good share of modern review words; subwords miss none.
        #expect(try #require(results["word_vocabulary_unknown_rate"]) > 0.03)
        #expect(try #require(results["gpt2_tokens_per_word"]) > 1.0)
        #expect(try #require(results["bert_unknown_rate"]) < 0.01)
    }
}
