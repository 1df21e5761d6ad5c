import Foundation
import Testing
import TestSupport

/// `lmkit train gpt`, `lmkit generate` and `lmkit eval perplexity`, as a user runs them.
extension CommandTests {
    /// `lmkit train llama`: a Hugging Face Llama folder that generates; bad shapes refused by name.
    @Test func trainALlamaThenGenerate() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-llama")
        let corpus = folder.path + "/corpus.txt"
        _ = FileManager.default.createFile(
            atPath: corpus, contents: Data(String(repeating: "to be or not to be, that is the question.\n", count: 300).utf8))
        let out = folder.path + "/run"
        let train = try lmkit(arguments: [
            "train", "llama", corpus, "--out", out, "--layers", "2", "--width", "32", "--heads", "4", "--kv-heads", "2", "--context", "32",
            "--batch-size", "8", "--warmup-steps", "2", "--max-steps", "30", "--eval-interval", "30", "--eval-batches", "2", "--json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect((try json(train.stdout)["bestValidationLoss"] as? Double ?? 9) < 2.5)
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model/config.json"))) as? [String: Any])
        #expect(config["model_type"] as? String == "llama" && config["num_key_value_heads"] as? Int == 2)
        #expect(config["intermediate_size"] as? Int == 256)
        let generated = try lmkit(arguments: [
            "generate", "--model", out + "/model", "to be", "--max-tokens", "10", "--temperature", "0", "--json",
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        let bad = try lmkit(arguments: ["train", "llama", corpus, "--out", folder.path + "/bad", "--heads", "4", "--kv-heads", "3"])
        #expect(bad.status != 0 && bad.stderr.contains("key/value heads 3"))
    }

    @Test func trainThenGenerateThenEvaluate() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-gpt")
        let corpus = folder.path + "/corpus.txt"
        var lines: [String] = []
        for i in 0..<400 { lines.append("line \(i % 10): to be or not to be, that is the question.") }
        FileManager.default.createFile(atPath: corpus, contents: Data(lines.joined(separator: "\n").utf8))
        let out = folder.path + "/run"
        let common = [
            "--out", out, "--layers", "1", "--width", "32", "--heads", "2", "--context", "32", "--batch-size", "8",
            "--warmup-steps", "5", "--eval-interval", "20", "--eval-batches", "2",
        ]
        let train = try lmkit(arguments: ["train", "gpt", corpus] + common + ["--max-steps", "40", "--json"])
        #expect(train.status == 0, "\(train.stderr)")
        let summary = try json(train.stdout)
        #expect(summary["steps"] as? Int == 40)
        #expect((summary["bestValidationLoss"] as? Double ?? 9) < 2.5)
        // Resume with the checkpoint's settings up to its max steps: nothing left to do.
        let resumed = try lmkit(arguments: ["train", "gpt", corpus, "--out", out, "--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let resumedSummary = try json(resumed.stdout)
        #expect(resumedSummary["steps"] as? Int == 40)

        let greedy = try lmkit(arguments: [
            "generate", "--model", out + "/model", "to be", "--max-tokens", "20", "--temperature", "0", "--json",
        ])
        #expect(greedy.status == 0, "\(greedy.stderr)")
        let g = try json(greedy.stdout)
        #expect(g["generatedTokens"] as? Int == 20)
        let again = try json(
            try lmkit(arguments: ["generate", "--model", out + "/model", "to be", "--max-tokens", "20", "--temperature", "0", "--json"])
                .stdout)
        #expect(again["text"] as? String == g["text"] as? String)
        let streamed = try lmkit(arguments: ["generate", "--model", out + "/model", "to be", "--max-tokens", "20", "--temperature", "0"])
        #expect(streamed.stdout == "to be" + (g["text"] as? String ?? "") + "\n")

        let ppl = try lmkit(arguments: ["eval", "perplexity", "--model", out + "/model", corpus, "--json"])
        #expect(ppl.status == 0, "\(ppl.stderr)")
        let perplexity = try json(ppl.stdout)["perplexity"] as? Double
        #expect((perplexity ?? 100) < 12, "\(perplexity ?? -1)")

        let badModel = try lmkit(arguments: ["generate", "--model", folder.path, "x"])
        #expect(badModel.status != 0 && badModel.stderr.contains("config.json"))
        let badFlag = try lmkit(arguments: ["generate", "--model", out + "/model", "x", "--top-p", "0"])
        #expect(badFlag.status != 0 && badFlag.stderr.contains("top-p"))
        let badTrain = try lmkit(arguments: ["train", "gpt", corpus, "--out", folder.path + "/bad", "--width", "30", "--heads", "4"])
        #expect(badTrain.status != 0 && badTrain.stderr.contains("width 30"))
    }
}

extension CommandTests {
    @Test func gptChapterTrainsAndWrites() throws {
        guard TestAssets.available(.shakespeare) else { return }
        let r = try lmkit("tour", "--chapter", "gpt", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        #expect(results["steps"] == 90)
        let first = try #require(results["validation_loss_first_eval"]), best = try #require(results["validation_loss_best"])
        #expect(best < first && best < 3.0, "validation \(first) → \(best)")
    }
}

extension CommandTests {
    @Test func trainRecurrentThenGenerate() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-rnn")
        let corpus = folder.path + "/corpus.txt"
        FileManager.default.createFile(atPath: corpus, contents: Data(String(repeating: "abcdefgh ijklmnop\n", count: 300).utf8))
        let out = folder.path + "/run"
        let train = try lmkit(arguments: [
            "train", "rnn", corpus, "--cell", "gru", "--out", out, "--layers", "1", "--width", "24", "--context", "24",
            "--batch-size", "8", "--max-steps", "30", "--warmup-steps", "3", "--eval-interval", "15", "--eval-batches", "2",
            "--learning-rate", "1e-2", "--json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect((try json(train.stdout))["steps"] as? Int == 30)
        let g = try lmkit(arguments: ["generate", "--model", out + "/model", "abc", "--max-tokens", "10", "--temperature", "0", "--json"])
        #expect(g.status == 0, "\(g.stderr)")
        #expect((try json(g.stdout))["generatedTokens"] as? Int == 10)
        let wrong = try lmkit(arguments: ["train", "gpt", corpus, "--out", out, "--resume"])
        #expect(wrong.status != 0 && wrong.stderr.contains("gru checkpoint"), "\(wrong.stderr)")
        let badCell = try lmkit(arguments: ["train", "rnn", corpus, "--cell", "transformer", "--out", folder.path + "/x"])
        #expect(badCell.status != 0)
    }
}

extension CommandTests {
    @Test func vanishingGradientExperimentPrintsAndDraws() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-exp")
        let svg = folder.path + "/vg.svg"
        let r = try lmkit(arguments: ["experiment", "gradients", "--hidden", "16", "--length", "20", "--out", svg, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try jsonLines(r.stdout)
        #expect(rows.count == 15)  // distances 1, 2, 5, 10, 20 for three cells
        #expect(FileManager.default.fileExists(atPath: svg))
        #expect(try lmkit(arguments: ["experiment", "gradients", "--length", "1"]).status != 0)
    }
}

extension CommandTests {
    @Test func rnnChapterRunsQuick() throws {
        let r = try lmkit("tour", "--chapter", "rnn", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        let rnn = try #require(results["gradient_relative_rnn_k50"]), lstm = try #require(results["gradient_relative_lstm_k50"])
        #expect(rnn < lstm, "RNN \(rnn) vs LSTM \(lstm)")
        #expect(try #require(results["throughput_ratio_t64"]) > 0)
    }

    @Test func qualityExperimentRejectsBadInput() throws {
        let r = try lmkit(arguments: ["experiment", "quality", "--minutes", "0"])
        #expect(r.status != 0 && r.stderr.contains("--minutes"))
        let m = try lmkit(arguments: ["experiment", "memory", "--distances", "0"])
        #expect(m.status != 0 && m.stderr.contains("--distances"))
    }
}
