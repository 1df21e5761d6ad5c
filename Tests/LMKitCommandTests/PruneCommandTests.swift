import Foundation
import Testing
import TestSupport

/// `lmkit prune` as a user runs it on the tiny Llama folder: Wanda 2:4 with a calibration text, the
/// pruned folder scored by `lmkit eval perplexity`, and the refusals.
extension CommandTests {
    @Test func pruneWandaAndEvaluate() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-prune")
        let base = try ServeTests.tinyModelFolder(in: folder)
        let text = folder.path + "/text.txt"
        try Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40).utf8).write(to: URL(fileURLWithPath: text))
        let out = folder.path + "/pruned"
        let run = try lmkit(arguments: [
            "prune", base, "--method", "wanda", "--sparsity", "2:4", "--text", text, "--chunks", "2", "--context", "32", "--out", out,
            "--json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try json(run.stdout)
        #expect(report["pattern"] as? String == "2:4" && (report["sparsity"] as? Double ?? 0) == 0.5, "\(report)")
        #expect((report["layers"] as? [[String: Any]])?.count == 14)
        let scored = try lmkit(arguments: ["eval", "perplexity", "--model", out, text, "--context", "64", "--json"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let perplexity = try json(scored.stdout)["perplexity"] as? Double
        #expect(perplexity?.isFinite == true)
        let magnitude = try lmkit(arguments: ["prune", base, "--method", "magnitude", "--sparsity", "30%", "--out", folder.path + "/m"])
        #expect(
            magnitude.status == 0 && magnitude.stdout.contains("magnitude 30% on 14 matrices"), "\(magnitude.stdout)\(magnitude.stderr)")

        // Structured: half the MLP neurons and query heads of every layer, then 2:4 on what remains.
        let small = folder.path + "/small"
        let shrunk = try lmkit(arguments: [
            "prune", base, "--method", "magnitude", "--neurons", "0.5", "--heads", "0.5", "--sparsity", "2:4", "--out", small, "--json",
        ])
        #expect(shrunk.status == 0, "\(shrunk.stderr)")
        let s = try json(shrunk.stdout)
        let structured = try #require(s["structured"] as? [String: Any])
        #expect(structured["intermediateSize"] as? [Int] == [32, 16] && structured["heads"] as? [Int] == [4, 2], "\(structured)")
        let parameters = try #require(s["parameters"] as? [Int])
        #expect(parameters[1] < parameters[0] && s["pattern"] as? String == "2:4")
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: small + "/config.json"))) as? [String: Any])
        #expect(config["intermediate_size"] as? Int == 16 && config["num_attention_heads"] as? Int == 2)
        let generated = try lmkit(arguments: ["generate", "--model", small, "The quick", "--max-tokens", "4", "--temperature", "0"])
        #expect(generated.status == 0, "\(generated.stderr)")

        let noText = try lmkit(arguments: ["prune", base, "--method", "wanda", "--sparsity", "0.5", "--out", folder.path + "/x"])
        #expect(noText.status != 0 && noText.stderr.contains("--text"), "\(noText.stderr)")
        let badSparsity = try lmkit(arguments: ["prune", base, "--method", "magnitude", "--sparsity", "1.5", "--out", folder.path + "/x"])
        #expect(badSparsity.status != 0 && badSparsity.stderr.contains("sparsity"), "\(badSparsity.stderr)")
        let badPattern = try lmkit(arguments: ["prune", base, "--method", "magnitude", "--sparsity", "2:7", "--out", folder.path + "/x"])
        #expect(badPattern.status != 0 && badPattern.stderr.contains("multiple of 7"), "\(badPattern.stderr)")
        let nothing = try lmkit(arguments: ["prune", base, "--method", "magnitude", "--out", folder.path + "/x"])
        #expect(nothing.status != 0 && nothing.stderr.contains("--neurons"), "\(nothing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x"))
    }
}
