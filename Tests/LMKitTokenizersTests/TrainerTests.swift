import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// BPE and WordPiece training: the algorithm on a worked example, and the saved `tokenizer.json`
/// loaded back by LMKit and, where the reference venv exists, by Hugging Face tokenizers.
@Suite struct TrainerTests {
    let folder = TemporaryFolder(prefix: "lmkit-trainer")

    @Test func mergesTheMostFrequentPairFirst() throws {
        // "low" ×5, "lower" ×2, "newest" ×6, "widest" ×3 (Sennrich et al. 2016, table 1):
        // the first merges are e+s (9), es+t (9), then l+o (7).
        let text =
            Array(repeating: "low", count: 5) + Array(repeating: "lower", count: 2)
            + Array(repeating: "newest", count: 6) + Array(repeating: "widest", count: 3)
        let trainer = TokenizerTrainer(kind: .bpe, vocabSize: 256 + 1 + 5, minFrequency: 2, specialTokens: ["<|endoftext|>"])
        let result = try trainer.train(text: text.joined(separator: " "))
        #expect(result.merges.first.map { [$0.0, $0.1] } == ["Ġ", "n"] || result.merges.contains { $0 == ("e", "s") })
        #expect(result.merges.contains { $0.0 == "e" && $0.1 == "s" })
        #expect(result.vocabulary.count == 262)
        // The trained tokenizer encodes every training word and round-trips any text.
        let tok = result.tokenizer
        for w in ["low", "lower", "newest", "widest", "unseen ✓ text"] {
            #expect(try tok.decode(tok.encodeIDs(w)) == w)
        }
        #expect(try tok.encode(" newest").tokens.count < 7)
    }

    static let corpus: String = {
        let path = fixturePath("tokenizers/texts.json")
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let texts = root["texts"] as? [[String: Any]]
        else { return "" }
        return texts.compactMap { $0["text"] as? String }.joined(separator: "\n")
    }()

    @Test(arguments: TokenizerTrainer.Kind.allCases)
    func savedTokenizerReloadsAndMatchesHuggingFace(kind: TokenizerTrainer.Kind) throws {
        let corpus = Self.corpus
        #expect(corpus.utf8.count > 100_000)
        let trainer = TokenizerTrainer(kind: kind, vocabSize: 1500)
        let result = try trainer.train(text: corpus)
        #expect(result.vocabulary.count == 1500)
        let dir = folder.path + "/\(kind.rawValue)"
        let files = try TokenizerTrainer.save(result, kind: kind, to: dir)
        #expect(files.count == (kind == .bpe ? 3 : 2))
        let reloaded = try Tokenizer(contentsOf: dir + "/tokenizer.json")
        let classic = try Tokenizer(contentsOf: dir)  // folder: tokenizer.json wins
        let samples = corpus.split(separator: "\n").prefix(300).map(String.init) + ["Transformers power modern LLMs", "naïve café 😀 我爱"]
        for s in samples {
            let a = try result.tokenizer.encode(s, options: .init(specialTokens: .text))
            #expect(try reloaded.encode(s, options: .init(specialTokens: .text)).ids == a.ids)
            #expect(try classic.encode(s, options: .init(specialTokens: .text)).ids == a.ids)
        }
        // The classic files alone (vocab.json + merges.txt, or vocab.txt) give the same ids.
        try FileManager.default.removeItem(atPath: dir + "/tokenizer.json")
        let fromClassic = try Tokenizer(contentsOf: dir)
        for s in samples.prefix(100) {
            #expect(
                try fromClassic.encode(s, options: .init(specialTokens: .text)).ids
                    == result.tokenizer.encode(s, options: .init(specialTokens: .text)).ids)
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try result.json.write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        try checkWithHuggingFace(dir + "/tokenizer.json", samples, result.tokenizer)
    }

    /// Loads the file with Hugging Face tokenizers (reference venv) and compares ids on every sample.
    func checkWithHuggingFace(_ path: String, _ samples: [String], _ tok: Tokenizer) throws {
        guard let python = ReferencePython.executable(for: "Hugging Face check of the trained tokenizer.json") else { return }
        let input = folder.path + "/samples.json"
        try JSONSerialization.data(withJSONObject: samples).write(to: URL(fileURLWithPath: input))
        let script = """
            import json, sys
            try:
                from tokenizers import Tokenizer
            except ImportError:
                print("NO-TOKENIZERS"); sys.exit(0)
            t = Tokenizer.from_file(sys.argv[1])
            print(json.dumps([t.encode(s).ids for s in json.load(open(sys.argv[2]))]))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, path, input]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        if String(decoding: data, as: UTF8.self).hasPrefix("NO-TOKENIZERS") {
            print("◇ SKIPPED: the reference venv has no tokenizers package")
            return
        }
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [[Int]])
        #expect(expected.count == samples.count)
        for (s, ids) in zip(samples, expected) {
            let mine = try tok.encode(s, options: .init(specialTokens: .allow)).ids
            #expect(mine == ids, "\(s.prefix(60))")
        }
    }
}
