import Foundation
import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitOptimization
import LMKitTensor
import LMKitTokenizers
import Testing
import TestSupport

/// `lmkit quantize`'s GGUF export: a tiny Llama folder (with Llama 3's rotary rescaling) and a tiny
/// Gemma 3 folder written as GGUF and read back by LMKit give the folder model's logits (F32 exactly,
/// the quantized types within their error), the same tokens and chat template; gguf-py reads the file.
@Suite(.serialized) struct QuantizeExportTests {
    let folder = TemporaryFolder(prefix: "lmkit-quantize")

    func llamaFolder() throws -> String {
        let path = folder.path + "/llama"
        var c = LlamaConfig()
        (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize) = (400, 256, 2, 4, 2, 64)
        (c.intermediateSize, c.contextLength) = (512, 512)
        c.llama3Scaling = Llama3RopeScaling(factor: 8, originalContext: 64)
        try LlamaForCausalLM(c, seed: 3).save(folder: path)
        try FileManager.default.copyItem(atPath: fixturePath("tokenizers/llama3-style/tokenizer.json"), toPath: path + "/tokenizer.json")
        let config =
            #"{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>{{ m.content }}<|eot_id|>{% endfor %}"}"#
        try Data(config.utf8).write(to: URL(fileURLWithPath: path + "/tokenizer_config.json"))
        return path
    }

    func logits(_ model: any CausalLanguageModel, _ ids: [Int]) -> Tensor {
        GradMode.withoutGradient { model.logits(Tensor(indices: ids, shape: [1, ids.count]), cache: nil) }
    }

    @Test func llamaFolderRoundTripsThroughEveryType() throws {
        let source = try llamaFolder()
        let base = try ModelLoader.load(source, activations: .float32)
        let ids = Array(try base.tokenizer.encode("Hello world, 12345 times!").ids.prefix(16))
        let expected = logits(base.model, ids)
        var sizes: [GGMLType: Int] = [:]
        for type in GGMLQuantizer.writable {
            let out = folder.path + "/llama-\(type).gguf"
            let summary = try GGUFExport(type: type).write(model: source, to: out)
            sizes[type] = summary.bytes
            #expect(summary.architecture == "llama" && summary.fallbacks.isEmpty)
            let back = try ModelLoader.load(out, activations: .float32)
            #expect(try back.tokenizer.encode("Hello world, 12345 times!").ids == base.tokenizer.encode("Hello world, 12345 times!").ids)
            #expect(back.template.source == base.template.source)
            // F32 is exact; the others within their rounding: relative RMS error of the logits (a wrong
            // layout or name would be near 1).
            let got = logits(back.model, ids).scalars(as: Float.self), want = expected.scalars(as: Float.self)
            let error = zip(got, want).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            let relative = error / want.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            let bound: [GGMLType: Double] = [
                .f32: 1e-6, .f16: 1e-3, .bf16: 1e-2, .q8_0: 1e-2, .q6_K: 0.03, .q5_0: 0.06, .q5_1: 0.06, .q5_K: 0.06, .q4_0: 0.12,
                .q4_1: 0.12, .q4_K: 0.12,
            ]
            #expect(relative < bound[type]!, "\(type): relative RMS error \(relative)")
            if type == .q4_0 { #expect(summary.tensorsByType == ["F32": 6, "Q4_0": 15, "Q6_K": 1]) }  // output layer at Q6_K
            // Q4_K_M: attn_v and ffn_down of the last layer (of 2) at Q6_K, as llama.cpp's use_more_bits places them.
            if type == .q4_K { #expect(summary.type == "Q4_K_M" && summary.tensorsByType == ["F32": 6, "Q4_K": 13, "Q6_K": 3]) }
        }
        #expect(sizes[.q8_0]! < sizes[.f16]! / 3 * 2 && sizes[.q4_0]! < sizes[.q8_0]!)
        // Re-quantizing a GGUF file keeps its tokenizer keys as they are.
        let again = try GGUFExport(type: .q8_0).write(model: folder.path + "/llama-f16.gguf", to: folder.path + "/again.gguf")
        let a = try GGUFFile(path: folder.path + "/llama-f16.gguf"), b = try GGUFFile(path: again.out)
        for key in a.metadata.map(\.key) where key.hasPrefix("tokenizer.") {
            #expect(b[key]?.description == a[key]?.description && b.metadataTypes[key]?.type == a.metadataTypes[key]?.type, "\(key)")
        }
    }

    @Test func overridesAndRefusals() throws {
        let source = try llamaFolder()
        var export = GGUFExport(type: .q4_0)
        export.overrides = [(#"blk\.1\..*"#, .q8_0)]
        export.embeddingType = .f16
        let summary = try export.write(model: source, to: folder.path + "/mixed.gguf")
        let file = try GGUFFile(path: summary.out)
        let types = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, GGMLType(rawValue: $0.type)!) })
        #expect(types["blk.1.attn_q.weight"] == .q8_0 && types["blk.0.attn_q.weight"] == .q4_0 && types["token_embd.weight"] == .f16)
        #expect(types["blk.0.attn_norm.weight"] == .f32 && types["rope_freqs.weight"] == .f32)
        let encoderLike = folder.path + "/missing"
        #expect(throws: (any Error).self) { try GGUFExport(type: .q8_0).write(model: encoderLike, to: folder.path + "/x.gguf") }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.gguf"))
    }

    /// A tiny Gemma 3 with the Gemma asset's tokenizer (exported to tokenizer.json, as `lora merge` writes it).
    @Test func gemmaFolderRoundTrips() throws {
        guard TestAssets.available(.gemma) else { return }
        let path = folder.path + "/gemma"
        var c = Gemma3Config()
        (c.width, c.layers, c.heads, c.kvHeads, c.headSize, c.intermediateSize) = (32, 6, 2, 1, 16, 64)
        (c.globalLayers, c.queryPreAttentionScalar, c.slidingWindow, c.contextLength) = ((0..<6).map { ($0 + 1) % 6 == 0 }, 16, 8, 256)
        try Gemma3ForCausalLM(c, seed: 5).save(folder: path)
        let asset = try GGUFFile(path: TestAssets.store.path(.gemma))
        for (name, bytes) in try ModelLoader.tokenizerFiles(gguf: asset, template: try ChatTemplate.forModel(gguf: asset)) {
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
        }
        let base = try ModelLoader.load(path, activations: .float32)
        let ids = Array(try base.tokenizer.encode("The capital of France is Paris.\n\n  Indeed.").ids)
        let summary = try GGUFExport(type: .f32).write(model: path, to: folder.path + "/gemma.gguf")
        #expect(summary.architecture == "gemma3")
        let back = try ModelLoader.load(summary.out, activations: .float32)
        #expect(try back.tokenizer.encode("The capital of France is Paris.\n\n  Indeed.").ids == ids)
        let gguf = try GGUFFile(path: summary.out)
        for key in [
            "tokenizer.ggml.model", "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        ] {
            #expect(gguf[key]?.description == asset[key]?.description, "\(key)")
        }
        let cmp = compare(logits(back.model, ids), logits(base.model, ids), rtol: 0, atol: 1e-4)
        #expect(cmp.withinTolerance, "\(cmp)")
    }

    /// A tiny GPT-2 with GPT-2's own tokenizer files (vocab.json, merges.txt), tied and untied: the
    /// F32 file gives the folder's logits, Q8_0 within its rounding, the same tokens; llama.cpp's
    /// llama-perplexity (when built) scores the F32 file as `lmkit eval perplexity` does.
    @Test func gpt2FolderRoundTripsAndRunsInLlamaCpp() throws {
        guard TestAssets.available(.gpt2) else { return }
        for tied in [true, false] {
            let path = folder.path + "/gpt2-\(tied)"
            var c = GPT2Config()
            (c.width, c.layers, c.heads, c.contextLength, c.tieWordEmbeddings) = (64, 2, 4, 128, tied)
            try GPT2LMHeadModel(c, seed: 9).save(folder: path)
            for name in ["vocab.json", "merges.txt"] {
                try FileManager.default.copyItem(atPath: TestAssets.store.folder(.gpt2) + "/" + name, toPath: path + "/" + name)
            }
            let base = try ModelLoader.load(path, activations: .float32)
            let sample = "Hello world, naïve café! 12345\n\n  indeed"
            let ids = try base.tokenizer.encode(sample).ids
            let f32 = try GGUFExport(type: .f32).write(model: path, to: folder.path + "/gpt2-\(tied).gguf")
            let file = try GGUFFile(path: f32.out)
            #expect(f32.architecture == "gpt2" && file.tensors.contains { $0.name == "output.weight" } == !tied)
            let back = try ModelLoader.load(f32.out, activations: .float32)
            #expect(try back.tokenizer.encode(sample).ids == ids)
            let cmp = compare(logits(back.model, ids), logits(base.model, ids), rtol: 0, atol: 1e-5)
            #expect(cmp.withinTolerance, "tied \(tied): \(cmp)")
            let q8 = try GGUFExport(type: .q8_0).write(model: path, to: folder.path + "/gpt2-q8-\(tied).gguf")
            let got = logits(try ModelLoader.load(q8.out, activations: .float32).model, ids).scalars(as: Float.self)
            let want = logits(base.model, ids).scalars(as: Float.self)
            let error = zip(got, want).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            #expect(error / want.map { Double($0) * Double($0) }.reduce(0, +).squareRoot() < 1e-2)

            guard tied, let perplexity = LlamaCppTools.path("llama-perplexity", for: "llama.cpp running LMKit's GPT-2 GGUF") else {
                continue
            }
            let text = folder.path + "/text.txt"
            try Data(String(repeating: "The quick brown fox jumps over the lazy dog; naïve café. ", count: 60).utf8)
                .write(to: URL(fileURLWithPath: text))
            let run = try LlamaCppTools.run(perplexity, ["-m", f32.out, "-f", text, "-c", "64", "-b", "64", "-t", "2"])
            #expect(run.status == 0, "\(run.output.suffix(2000))")
            let match = run.output.firstMatch(of: /Final estimate: PPL = ([0-9.]+)/)
            let theirs = try #require(match.flatMap { Double($0.1) }, "\(run.output.suffix(1000))")
            let ours = try Perplexity.evaluate(
                model: back.model, tokenizer: back.tokenizer,
                text: String(decoding: try Data(contentsOf: URL(fileURLWithPath: text)), as: UTF8.self),
                context: 64, method: .llamaCpp)
            #expect(abs(ours.perplexity / theirs - 1) < 1e-3, "LMKit \(ours.perplexity), llama.cpp \(theirs)")
        }
    }

    /// A Llama that `lmkit train llama --tokenizer gpt2` would make (GPT-2's byte-level BPE): its GGUF
    /// file reads back with the same tokens and logits, and llama.cpp scores it as LMKit does.
    @Test func llamaWithAGPT2TokenizerRunsInLlamaCpp() throws {
        guard TestAssets.available(.gpt2) else { return }
        let path = folder.path + "/llama-bpe"
        var c = LlamaConfig()
        (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize, c.intermediateSize, c.contextLength) = (
            50257, 64, 2, 4, 2, 16, 256, 128
        )
        try LlamaForCausalLM(c, seed: 5).save(folder: path)
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: TestAssets.store.folder(.gpt2) + "/" + name, toPath: path + "/" + name)
        }
        let base = try ModelLoader.load(path, activations: .float32)
        let f32 = try GGUFExport(type: .f32).write(model: path, to: folder.path + "/llama-bpe.gguf")
        #expect(f32.architecture == "llama")
        let back = try ModelLoader.load(f32.out, activations: .float32)
        let sample = "Hello world, naïve café! 12345\n\n  indeed"
        let ids = try base.tokenizer.encode(sample).ids
        #expect(try back.tokenizer.encode(sample).ids == ids)
        #expect(compare(logits(back.model, ids), logits(base.model, ids), rtol: 0, atol: 1e-5).withinTolerance)
        guard let perplexity = LlamaCppTools.path("llama-perplexity", for: "llama.cpp running LMKit's Llama GGUF with a GPT-2 tokenizer")
        else { return }
        let text = folder.path + "/llama-text.txt"
        try Data(String(repeating: "The quick brown fox jumps over the lazy dog; naïve café. ", count: 60).utf8)
            .write(to: URL(fileURLWithPath: text))
        let run = try LlamaCppTools.run(perplexity, ["-m", f32.out, "-f", text, "-c", "64", "-b", "64", "-t", "2"])
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        let theirs = try #require(
            run.output.firstMatch(of: /Final estimate: PPL = ([0-9.]+)/).flatMap { Double($0.1) }, "\(run.output.suffix(1000))")
        let ours = try Perplexity.evaluate(
            model: back.model, tokenizer: back.tokenizer,
            text: String(decoding: try Data(contentsOf: URL(fileURLWithPath: text)), as: UTF8.self),
            context: 64, method: .llamaCpp)
        #expect(abs(ours.perplexity / theirs - 1) < 1e-3, "LMKit \(ours.perplexity), llama.cpp \(theirs)")
    }

    /// gguf-py (the reference venv) reads what LMKit writes: the tensor table and the dequantized weights.
    @Test func ggufPyReadsTheFile() throws {
        let check = "gguf-py reading a GGUF file LMKit wrote"
        guard ReferencePython.executable(for: check) != nil else { return }
        let out = folder.path + "/py.gguf"
        _ = try GGUFExport(type: .q5_1).write(model: try llamaFolder(), to: out)
        let script = """
            import sys, json, numpy as np, gguf
            r = gguf.GGUFReader(sys.argv[1])
            t = {x.name: x for x in r.tensors}
            w = gguf.quants.dequantize(t["blk.0.ffn_down.weight"].data, t["blk.0.ffn_down.weight"].tensor_type)
            print(json.dumps({"arch": bytes(r.fields["general.architecture"].parts[-1]).decode(), "count": len(r.tensors),
                "type": t["blk.0.ffn_down.weight"].tensor_type.name, "sum": float(np.float64(w).sum()), "shape": list(w.shape)}))
            """
        guard let run = try ReferencePython.run(["-c", script, out], for: check) else { return }
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let file = try GGUFFile(path: out)
        let ours = try file.floats("blk.0.ffn_down.weight")
        #expect(json["arch"] as? String == "llama" && json["count"] as? Int == file.tensors.count && json["type"] as? String == "Q5_1")
        #expect(json["shape"] as? [Int] == ours.shape)
        let sum = ours.withUnsafeScalars(Float.self) { $0.reduce(0.0) { $0 + Double($1) } }
        #expect(abs((json["sum"] as? Double ?? .nan) - sum) < 1e-3)
    }
}
