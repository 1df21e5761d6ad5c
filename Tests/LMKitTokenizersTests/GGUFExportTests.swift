import Foundation
import LMKitTensor
import LMKitTokenizers
import Testing
import TestSupport

/// The `tokenizer.json` LMKit writes for a GGUF file's tokenizer (what a model folder saved from a
/// GGUF model carries), read back by LMKit and by transformers: the ids of the references themselves
/// (sentencepiece's for Gemma's golden texts, llama.cpp's for its vocabulary test files), special
/// tokens, decoding.
@Suite struct GGUFExportTests {
    static let vocabularies = ["llama-bpe", "qwen2", "gpt-2", "llama-spm"]

    /// llama.cpp's test texts and ids for one vocabulary file (see ``LlamaCppVocabTests``).
    func llamaCppCases(_ path: String) throws -> [(text: String, ids: [Int])] {
        let inputs = try String(contentsOfFile: path + ".inp", encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
            .dropLast()
        let outputs = try String(contentsOfFile: path + ".out", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return zip(inputs, outputs).map { ($0, $1.split(separator: " ").compactMap { Int($0) }) }
    }

    @Test func gemmaExportMatchesSentencePiece() throws {
        guard let path = Golden.asset(.gemma, "gemma-3-270m-q4_k_m.gguf") else { return }
        let file = try GGUFFile(path: path)
        let gguf = try Tokenizer.gguf(file)
        let exported = try Tokenizer(jsonData: try Tokenizer.huggingFaceJSON(gguf: file))
        #expect(exported.vocabSize == gguf.vocabSize)
        var mismatches = 0
        let cases = Golden.cases("gemma")
        #expect(cases.count > 300)
        for c in cases {
            let text = c["text"] as! String
            let ids = try exported.encodeIDs(text, specialTokens: .text)
            if ids != c["ids"] as! [Int] {
                mismatches += 1
                if mismatches <= 3 { Issue.record("\(Golden.excerpt(text)): \(Golden.firstDifference(ids, c["ids"] as! [Int]))") }
            }
            #expect(try exported.decode(ids) == gguf.decode(ids))
            // BOS, as the GGUF file says to add it.
            #expect(try exported.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids == [2] + ids)
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) texts differ from sentencepiece")
        for special in ["<start_of_turn>", "<end_of_turn>", "<eos>", "<bos>"] { #expect(exported.id(of: special) == gguf.id(of: special)) }
        #expect(
            try exported.encodeIDs("<start_of_turn>user", specialTokens: .allow)
                == gguf.encodeIDs("<start_of_turn>user", specialTokens: .allow))
    }

    @Test(arguments: vocabularies) func llamaCppVocabulariesMatchLlamaCpp(name: String) throws {
        guard TestAssets.available(.llamaCpp) else { return }
        let path = TestAssets.store.folder(.llamaCpp) + "/vocab/ggml-vocab-\(name).gguf"
        let exported = try Tokenizer(jsonData: try Tokenizer.huggingFaceJSON(gguf: try GGUFFile(path: path)))
        let cases = try llamaCppCases(path)
        #expect(cases.count >= 40)
        var failures = 0
        for (text, expected) in cases
        where try exported.encode(text, options: .init(addSpecialTokens: false, specialTokens: .text)).ids != expected {
            failures += 1
            if failures <= 3 { Issue.record("\(name) \(text.prefix(60).debugDescription) differs from llama.cpp") }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) texts differ from llama.cpp")
    }

    /// transformers' AutoTokenizer reads the files LMKit writes (`Tools/check/tokenizer_ids.py`) and gives
    /// llama.cpp's ids (with BOS where the file adds it) and sentencepiece's for Gemma.
    @Test func transformersReadsTheExportedFiles() throws {
        let check = "transformers reading a tokenizer exported from GGUF"
        guard ReferencePython.executable(for: check) != nil else { return }
        let folder = TemporaryFolder(prefix: "lmkit-export")
        var sets: [(name: String, gguf: String, cases: [(text: String, ids: [Int])])] = []
        if TestAssets.available(.llamaCpp) {
            for name in Self.vocabularies {
                let path = TestAssets.store.folder(.llamaCpp) + "/vocab/ggml-vocab-\(name).gguf"
                sets.append((name, path, try llamaCppCases(path)))
            }
        }
        if let gemma = Golden.asset(.gemma, "gemma-3-270m-q4_k_m.gguf") {
            sets.append(("gemma", gemma, Golden.cases("gemma").prefix(150).map { ($0["text"] as! String, $0["ids"] as! [Int]) }))
        }
        for (name, path, cases) in sets {
            let file = try GGUFFile(path: path)
            let dir = folder.path + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Tokenizer.huggingFaceJSON(gguf: file).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
            let config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
            let textsPath = dir + "/texts.json"
            try JSONSerialization.data(withJSONObject: cases.map(\.text)).write(to: URL(fileURLWithPath: textsPath))
            guard let run = try ReferencePython.run([fixturePath("../../Tools/check/tokenizer_ids.py"), dir, "@" + textsPath], for: check)
            else {
                return
            }
            #expect(run.status == 0, "\(name): \(run.stderr)")
            let root = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
            let ids = try #require(root["ids"] as? [[Int]])
            let lmkit = try Tokenizer.gguf(file)
            var failures = 0
            for ((text, expected), got) in zip(cases, ids) {
                // What the GGUF file adds around the text (BOS for SentencePiece files), then the reference's ids.
                let plain = try lmkit.encodeIDs(text, specialTokens: .text)
                let withSpecials = try lmkit.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
                let bos = withSpecials.count > plain.count ? [withSpecials[0]] : []
                if got != bos + expected {
                    failures += 1
                    if failures <= 3 {
                        Issue.record(
                            "\(name) \(text.prefix(60).debugDescription): transformers \(got.prefix(12)) vs \((bos + expected).prefix(12))")
                    }
                }
            }
            #expect(ids.count == cases.count && failures == 0, "\(name): \(failures) of \(cases.count) texts differ in transformers")
        }
    }

    /// The way back: the exported tokenizer.json written as GGUF metadata (``Tokenizer/ggufMetadata(tokenizerJSON:config:source:)``)
    /// tokenizes as the GGUF file it came from, special tokens added, on llama.cpp's texts and Gemma's.
    @Test(arguments: vocabularies + ["gemma"]) func tokenizerJSONBackToGGUF(name: String) throws {
        let path: String
        var texts: [String]
        if name == "gemma" {
            guard let p = Golden.asset(.gemma, "gemma-3-270m-q4_k_m.gguf") else { return }
            (path, texts) = (p, Golden.cases("gemma").map { $0["text"] as! String })
        } else {
            guard TestAssets.available(.llamaCpp) else { return }
            path = TestAssets.store.folder(.llamaCpp) + "/vocab/ggml-vocab-\(name).gguf"
            texts = try llamaCppCases(path).map(\.text)
        }
        let file = try GGUFFile(path: path)
        let original = try Tokenizer.gguf(file)
        let tokens = try #require(file["tokenizer.ggml.tokens"]?.strings)
        var config: [String: Any] = [:]
        if let eos = file["tokenizer.ggml.eos_token_id"]?.int { config["eos_token"] = tokens[eos] }
        if let bos = file["tokenizer.ggml.bos_token_id"]?.int { config["bos_token"] = tokens[bos] }
        let metadata = try Tokenizer.ggufMetadata(
            tokenizerJSON: try Tokenizer.huggingFaceJSON(gguf: file), config: try JSONSerialization.data(withJSONObject: config))
        var writer = GGUFWriter()
        writer.metadata = [("general.architecture", .string("llama"))] + metadata
        let folder = TemporaryFolder(prefix: "lmkit-tok-gguf")
        try writer.write(to: folder.path + "/t.gguf")
        let back = try GGUFFile(path: folder.path + "/t.gguf")
        let rebuilt = try Tokenizer.gguf(back)
        #expect(rebuilt.vocabSize == original.vocabSize)
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            #expect(back[key]?.description == file[key]?.description, "\(key)")
        }
        texts += ["<start_of_turn>user hi", "  two  spaces\n\n\tand tabs", "naïve e\u{301}t\u{37E}"]
        var failures = 0
        for text in texts {
            let options = EncodeOptions(addSpecialTokens: true, specialTokens: .allow)
            if try rebuilt.encode(text, options: options).ids != original.encode(text, options: options).ids {
                failures += 1
                if failures <= 3 { Issue.record("\(name) \(text.prefix(60).debugDescription) differs") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(texts.count) texts differ")
    }
}
