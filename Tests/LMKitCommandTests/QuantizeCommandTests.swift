import Foundation
import Testing
import TestSupport

/// `lmkit quantize`, `lmkit imatrix`, `lmkit tokenizer export` and `lmkit eval perplexity
/// --kl-divergence-base` as a user runs them, on the tiny Llama folder (rows of 16 fall back to F16,
/// and the summary says so)
/// and on llama.cpp's Llama 3 vocabulary file when the asset is there.
extension CommandTests {
    @Test func quantizeExportAndCompare() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-quantize")
        let base = try ServeTests.tinyModelFolder(in: folder)
        let out = folder.path + "/tiny.gguf"
        let run = try lmkit(arguments: ["quantize", base, "--type", "q8_0", "--out", out, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try json(run.stdout)
        let fallbacks = try #require(summary["fallbacks"] as? [String]), types = try #require(summary["tensorsByType"] as? [String: Int])
        // Rows of 16 (width) fall back to F16; ffn_down's rows are 32 wide and take Q8_0.
        #expect(
            summary["architecture"] as? String == "llama" && fallbacks.count == 14 && types == ["F16": 14, "F32": 5, "Q8_0": 2],
            "\(summary)")
        let text = folder.path + "/text.txt"
        try Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40).utf8).write(to: URL(fileURLWithPath: text))
        let compared = try lmkit(arguments: [
            "eval", "perplexity", "--model", out, text, "--kl-divergence-base", base, "--context", "64", "--json",
        ])
        #expect(compared.status == 0, "\(compared.stderr)")
        let divergence = try #require(try json(compared.stdout)["divergence"] as? [String: Any])
        // F16 weights: nearly the base's distributions.
        #expect((divergence["meanKLD"] as? Double ?? 1) < 1e-3 && (divergence["sameTop"] as? Double ?? 0) > 0.9)
        let badType = try lmkit(arguments: ["quantize", base, "--type", "q3_k", "--out", folder.path + "/x.gguf"])
        #expect(badType.status != 0 && badType.stderr.contains("q4_k_m"), "\(badType.stderr)")
        // An importance matrix from the same text, then Q4_K_M under it: rows of 16 fall back to F16,
        // ffn_down (rows of 32) from Q4_K/Q6_K to Q5_0/Q8_0, the Q5_0 ones weighted by the matrix.
        let imatrix = try lmkit(arguments: ["imatrix", base, "--text", text, "--context", "32", "--out", folder.path + "/m.gguf", "--json"])
        #expect(imatrix.status == 0, "\(imatrix.stderr)")
        let collected = try json(imatrix.stdout)
        #expect(collected["entries"] as? Int == 14 && collected["chunkSize"] as? Int == 32, "\(collected)")
        let weighted = try lmkit(arguments: [
            "quantize", base, "--type", "q4_k", "--imatrix", folder.path + "/m.gguf", "--out", folder.path + "/w.gguf", "--json",
        ])
        #expect(weighted.status == 0, "\(weighted.stderr)")
        let w = try json(weighted.stdout)
        #expect(w["type"] as? String == "Q4_K_M" && w["weightedByImportance"] as? Int == 1, "\(w)")
        #expect(w["tensorsByType"] as? [String: Int] == ["F16": 14, "F32": 5, "Q5_0": 1, "Q8_0": 1], "\(w)")
        let notImatrix = try lmkit(arguments: ["quantize", base, "--type", "q4_0", "--imatrix", text, "--out", folder.path + "/x.gguf"])
        #expect(notImatrix.status != 0 && notImatrix.stderr.contains(text), "\(notImatrix.stderr)")
        let badRule = try lmkit(arguments: [
            "quantize", base, "--type", "q8_0", "--tensor-type", "ffn_down", "--out", folder.path + "/x.gguf",
        ])
        #expect(badRule.status != 0 && badRule.stderr.contains("REGEX=TYPE"), "\(badRule.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.gguf"))

        guard TestAssets.available(.llamaCpp) else { return }
        let vocab = TestAssets.store.folder(.llamaCpp) + "/vocab/ggml-vocab-llama-bpe.gguf"
        let exported = try lmkit(arguments: ["tokenizer", "export", "--model", vocab, "--out", folder.path + "/tok", "--json"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try json(exported.stdout)["vocab_size"] as? Int == 128_256)
        let sample = "Hello world! 12345 naïve"
        let a = try lmkit(arguments: ["tokenize", "--tokenizer", vocab, sample, "--json"])
        let b = try lmkit(arguments: ["tokenize", "--tokenizer", folder.path + "/tok", sample, "--json"])
        #expect(try json(a.stdout)["ids"] as? [Int] == json(b.stdout)["ids"] as? [Int])
    }
}
