import Foundation
import Testing
import TestSupport

/// `lmkit inspect` on GGUF files, safetensors folders, and broken files.
extension CommandTests {
    @Test func inspectSafetensorsFolder() throws {
        let r = try lmkit("inspect", fixturePath("encoders/tiny-bert-cls"), "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        #expect(report["format"] as? String == "safetensors")
        let tensors = try #require(report["tensors"] as? [[String: Any]])
        #expect(tensors.count == 41)
        let classifier = try #require(tensors.first { $0["name"] as? String == "classifier.weight" })
        #expect(classifier["shape"] as? [Int] == [3, 32] && classifier["type"] as? String == "F32" && classifier["bytes"] as? Int == 384)
        let config = try #require(report["config"] as? [String: Any])
        #expect(
            config["model_type"] as? String == "bert" && config["num_hidden_layers"] as? Int == 2 && config["is_decoder"] as? Bool == false)
        #expect(report["parameters"] as? Int == tensors.reduce(0) { $0 + (($1["shape"] as? [Int]) ?? []).reduce(1, *) })
        let text = try lmkit("inspect", fixturePath("encoders/tiny-bert-cls"))
        #expect(
            text.status == 0 && text.stdout.contains("bert.pooler.dense.weight")
                && text.stdout.contains("\"BertForSequenceClassification\""))
    }

    @Test func inspectGemmaGGUFAndATruncatedCopy() throws {
        guard TestAssets.available(.gemma) else { return }
        let path = try TestAssets.store.path(.gemma)
        let r = try lmkit("inspect", path, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        #expect(report["format"] as? String == "gguf" && report["version"] as? Int == 3 && report["alignment"] as? Int == 32)
        let metadata = try #require(report["metadata"] as? [String: Any])
        #expect(metadata["general.architecture"] as? String == "gemma3" && metadata["gemma3.block_count"] as? Int == 18)
        let tokens = try #require(metadata["tokenizer.ggml.tokens"] as? [String: Any])
        #expect(tokens["array"] as? Int == 262_144)  // summarized, not printed whole
        let tensors = try #require(report["tensors"] as? [[String: Any]])
        #expect(tensors.count == 236)
        let embedding = try #require(tensors.first { $0["name"] as? String == "token_embd.weight" })
        #expect(
            embedding["type"] as? String == "Q8_0" && embedding["shape"] as? [Int] == [262_144, 640]
                && embedding["bytes"] as? Int == 262_144 * 640 / 32 * 34)
        #expect(Set((report["types"] as? [String: Int] ?? [:]).keys) == ["F32", "Q8_0", "Q5_0", "Q4_K", "Q6_K"])

        // The file cut inside its tensor data: the error names a tensor that does not fit.
        let folder = TemporaryFolder(prefix: "lmkit-inspect")
        let cut = folder.path + "/cut.gguf"
        let handle = try #require(FileHandle(forReadingAtPath: path))
        try handle.readData(ofLength: 12_000_000).write(to: URL(fileURLWithPath: cut))
        try handle.close()
        let truncated = try lmkit("inspect", cut)
        #expect(
            truncated.status != 0 && truncated.stderr.contains("tensor blk.")
                && truncated.stderr.contains("beyond the file's 12000000 bytes"), "\(truncated.stderr)")
        let missing = try lmkit("inspect", folder.path)
        #expect(missing.status != 0 && missing.stderr.contains("no model.safetensors"))
    }
}

/// The real Gemma 3 through the commands a user types.
extension CommandTests {
    @Test func gemmaChapterAndGenerate() throws {
        guard TestAssets.available(.gemma) else { return }
        let r = try lmkit("tour", "--chapter", "gemma", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        let rank = try #require(results["paris_rank"])
        #expect(rank >= 1 && rank <= 5, "Paris is not among the 5 likeliest next tokens of \"The capital of France is\"")
        let g = try lmkit("generate", "--model", "gemma", "def fibonacci(n):", "--max-tokens", "12", "--temperature", "0", "--json")
        #expect(g.status == 0, "\(g.stderr)")
        let text = try #require(try json(g.stdout)["text"] as? String)
        #expect(text.contains("return") || text.contains("if n"), "\(text)")
        #expect(try json(g.stdout)["promptTokens"] as? Int == 7)  // <bos> + 6 pieces
    }

    @Test func chatChapterRemembersAndDrops() throws {
        guard TestAssets.available(.gemma) else { return }
        let r = try lmkit("tour", "--chapter", "chat", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        #expect((results["reused_fraction_last_turn"] ?? 0) > 0.5, "\(results)")
        #expect((results["dropped_messages"] ?? 0) > 0, "\(results)")
    }
}
