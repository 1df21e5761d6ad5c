import Foundation
import Testing
import TestSupport

/// `lmkit finetune lm`, `--adapter`, `lmkit lora merge`, `lmkit eval answers` and `lmkit summarize`,
/// as a user runs them, on the tiny Llama folder (no asset needed).
extension CommandTests {
    @Test func finetuneThenUseTheAdapter() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-ft")
        let base = try ServeTests.tinyModelFolder(in: folder)
        let data = folder.path + "/chats.jsonl"
        var lines: [String] = []
        for i in 0..<20 {
            lines.append(
                #"{"messages": [{"role": "user", "content": "say \#(i % 4)"}, {"role": "assistant", "content": "\#(i % 4) \#(i % 4)"}]}"#)
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: data))
        let out = folder.path + "/run"
        let train = try lmkit(arguments: [
            "finetune", "lm", data, "--model", base, "--out", out, "--template", "llama3", "--lora-targets", "q_proj,v_proj",
            "--lora-rank", "4", "--context", "96", "--max-steps", "6", "--eval-interval", "3", "--learning-rate", "1e-2", "--json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let report = try json(train.stdout)
        let training = try #require(report["training"] as? [String: Any]), data_ = try #require(report["data"] as? [String: Any])
        #expect(training["steps"] as? Int == 6 && data_["trainExamples"] as? Int == 18 && data_["validationExamples"] as? Int == 2)
        #expect((training["trainableParameters"] as? Int ?? 0) == 2 * (16 * 4 + 4 * 16 + 16 * 4 + 4 * 8))
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model/adapter_config.json")))
                as? [String: Any])
        #expect(
            config["peft_type"] as? String == "LORA" && config["r"] as? Int == 4 && config["base_model_name_or_path"] as? String == base)

        // The adapter on generate, eval and chat; merged into a folder that generates the same.
        let adapted = try lmkit(arguments: [
            "generate", "--model", base, "--adapter", out + "/model", "say 1", "--max-tokens", "8", "--temperature", "0", "--json",
        ])
        #expect(adapted.status == 0, "\(adapted.stderr)")
        let merged = folder.path + "/merged"
        let merge = try lmkit(arguments: ["lora", "merge", "--model", base, "--adapter", out + "/model", "--out", merged, "--json"])
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try json(merge.stdout)["layers"] as? Int == 4)
        let fromMerged = try lmkit(arguments: ["generate", "--model", merged, "say 1", "--max-tokens", "8", "--temperature", "0", "--json"])
        #expect(try json(fromMerged.stdout)["text"] as? String == json(adapted.stdout)["text"] as? String)
        let ppl = try lmkit(arguments: ["eval", "perplexity", "--model", base, "--adapter", out + "/model", data, "--json"])
        #expect(ppl.status == 0, "\(ppl.stderr)")
        let heldOut = folder.path + "/heldout.jsonl"
        try Data(#"{"question": "say 2", "answer": "2 2", "facts": ["2"]}"#.utf8).write(to: URL(fileURLWithPath: heldOut))
        let answers = try lmkit(arguments: [
            "eval", "answers", heldOut, "--model", base, "--adapter", out + "/model", "--template", "llama3", "--max-tokens", "4", "--json",
        ])
        #expect(answers.status == 0, "\(answers.stderr)")
        #expect(try json(answers.stdout)["questions"] as? Int == 1)

        // Resume with nothing left to do; a bad line is named; an adapter that does not fit is named.
        let resumed = try lmkit(arguments: ["finetune", "lm", data, "--model", base, "--out", out, "--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        try Data("{\"messages\": []}\n".utf8).write(to: URL(fileURLWithPath: folder.path + "/bad.jsonl"))
        let bad = try lmkit(arguments: ["finetune", "lm", folder.path + "/bad.jsonl", "--model", base, "--out", folder.path + "/bad"])
        #expect(bad.status != 0 && bad.stderr.contains("bad.jsonl:1"), "\(bad.stderr)")
        let wrongBase = try lmkit(arguments: ["generate", "--model", merged, "--adapter", folder.path, "x"])
        #expect(wrongBase.status != 0 && wrongBase.stderr.contains("adapter_config.json"), "\(wrongBase.stderr)")
        let wrongMerge = try lmkit(arguments: [
            "lora", "merge", "--model", "gemma", "--adapter", out + "/model", "--out", folder.path + "/g",
        ])
        #expect(
            wrongMerge.status != 0 && !FileManager.default.fileExists(atPath: folder.path + "/g/model.safetensors"), "\(wrongMerge.stderr)")
        let summarize = try lmkit(arguments: ["summarize", "--model", base, "Some text.", "--eval", "x.jsonl"])
        #expect(summarize.status != 0 && summarize.stderr.contains("--eval"))
    }

    /// QLoRA on the Gemma GGUF asset, merged into a Hugging Face folder: the folder carries the GGUF
    /// tokenizer as tokenizer.json + tokenizer_config.json, tokenizes as the GGUF file does, and
    /// generates what the adapter on the GGUF base generates with float32 products.
    @Test func ggufBaseMergesIntoAFolderWithItsTokenizer() throws {
        guard TestAssets.available(.gemma) else { return }
        let folder = TemporaryFolder(prefix: "lmkit-cli-gguf-merge")
        let data = folder.path + "/pairs.jsonl"
        let lines = (0..<6).map { #"{"prompt": "Q\#($0): the colour of the sky?", "completion": " blue \#($0)"}"# }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: data))
        let out = folder.path + "/run"
        let train = try lmkit(arguments: [
            "finetune", "lm", data, "--model", "gemma", "--qlora", "--out", out, "--lora-targets", "q_proj,v_proj", "--lora-rank", "4",
            "--context", "32", "--batch-size", "2", "--max-steps", "2", "--eval-interval", "2", "--eval-batches", "1",
            "--learning-rate", "1e-2", "--json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let merged = folder.path + "/merged"
        let merge = try lmkit(arguments: ["lora", "merge", "--model", "gemma", "--adapter", out + "/model", "--out", merged, "--json"])
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try json(merge.stdout)["layers"] as? Int == 36)
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            #expect(FileManager.default.fileExists(atPath: merged + "/" + file), "\(file) is missing")
        }
        let text = "Hello <start_of_turn>user\n  naïve café; e\u{301}t\u{37E} 12345 🙂\n"
        let fromGGUF = try lmkit(arguments: ["tokenize", "--tokenizer", "gemma", "--add-special", "--special", "allow", text, "--json"])
        let fromFolder = try lmkit(arguments: ["tokenize", "--tokenizer", merged, "--add-special", "--special", "allow", text, "--json"])
        #expect(fromGGUF.status == 0 && fromFolder.status == 0, "\(fromGGUF.stderr) \(fromFolder.stderr)")
        let ids = try #require(json(fromGGUF.stdout)["ids"] as? [Int])
        #expect(try ids.first == 2 && ids.contains(105) && json(fromFolder.stdout)["ids"] as? [Int] == ids)
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: merged + "/tokenizer_config.json")))
                as? [String: Any])
        #expect(config["bos_token"] as? String == "<bos>" && config["eos_token"] as? String == "<eos>" && config["chat_template"] is String)
        let prompt = "Q1: the colour of the sky?"
        let adapted = try lmkit(arguments: [
            "generate", "--model", "gemma", "--adapter", out + "/model", "--activations", "float32", prompt, "--max-tokens", "6",
            "--temperature", "0", "--json",
        ])
        let plain = try lmkit(arguments: ["generate", "--model", merged, prompt, "--max-tokens", "6", "--temperature", "0", "--json"])
        #expect(adapted.status == 0 && plain.status == 0, "\(adapted.stderr) \(plain.stderr)")
        #expect(try json(adapted.stdout)["text"] as? String == json(plain.stdout)["text"] as? String)
        // The same merge as a GGUF file (float32 weights, so the same text), with the GGUF base's tokenizer.
        let ggufOut = folder.path + "/merged.gguf"
        let toGGUF = try lmkit(arguments: [
            "lora", "merge", "--model", "gemma", "--adapter", out + "/model", "--out", ggufOut, "--type", "f32", "--json",
        ])
        #expect(toGGUF.status == 0, "\(toGGUF.stderr)")
        let fromMergedGGUF = try lmkit(arguments: [
            "generate", "--model", ggufOut, "--activations", "float32", prompt, "--max-tokens", "6", "--temperature", "0", "--json",
        ])
        #expect(fromMergedGGUF.status == 0, "\(fromMergedGGUF.stderr)")
        #expect(try json(fromMergedGGUF.stdout)["text"] as? String == json(plain.stdout)["text"] as? String)
    }
}
