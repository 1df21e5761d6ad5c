import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// GPT-2 against PyTorch/transformers (llm.c `test_gpt2` style): a tiny model with a fixed
/// initialization, its logits, loss, every gradient and 10 AdamW steps (Tools/golden/gpt_parity.py).
@Suite struct GPT2Tests {
    @Test func kvCacheGivesTheSameLogitsAsTheWholeSequence() throws {
        let model = try GPT2LMHeadModel(GPT2Config(vocabSize: 50, contextLength: 32, width: 32, layers: 2, heads: 4, dropout: 0), seed: 3)
        model.eval()
        let ids = [3, 7, 1, 9, 22, 5, 5, 40, 11]
        let whole = GradMode.withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }  // (1, T, V)
        let cache = model.makeCache()
        var steps: [Tensor] = []
        GradMode.withoutGradient {
            steps.append(model(Tensor(indices: Array(ids[0..<4]), shape: [1, 4]), cache: cache))
            for i in 4..<ids.count { steps.append(model(Tensor(indices: [ids[i]], shape: [1, 1]), cache: cache)) }
        }
        #expect(cache.length == ids.count)
        let stepped = Tensor.concatenated(steps, axis: 1)
        let c = compare(stepped, whole, rtol: 1e-5, atol: 1e-5)
        #expect(c.withinTolerance, "\(c)")
    }

    @Test func saveAndLoadRoundTrip() throws {
        let folder = TemporaryFolder(prefix: "lmkit-gpt2")
        let model = try GPT2LMHeadModel(GPT2Config(vocabSize: 40, contextLength: 16, width: 16, layers: 1, heads: 2, dropout: 0), seed: 5)
        try model.save(folder: folder.path)
        let loaded = try GPT2LMHeadModel(folder: folder.path)
        #expect(loaded.config == model.config)
        let ids = Tensor(indices: [1, 2, 3, 4], shape: [1, 4])
        let c = compare(loaded(ids), model(ids), rtol: 0, atol: 0)
        #expect(c.withinTolerance, "\(c)")
        // The saved file holds GPT-2's Conv1D layout ([in, out]).
        let file = try SafetensorsFile(path: folder.path + "/model.safetensors")
        #expect(file.entry("transformer.h.0.attn.c_attn.weight")?.shape == [16, 48])
        #expect(file.entry("lm_head.weight") == nil)
    }

    @Test func badFoldersAreClearErrors() throws {
        let folder = TemporaryFolder(prefix: "lmkit-gpt2-bad")
        #expect(throws: (any Error).self) { try GPT2LMHeadModel(folder: folder.path + "/missing") }
        try Data(#"{"model_type": "gpt2", "n_embd": 10, "n_head": 3}"#.utf8).write(to: URL(fileURLWithPath: folder.path + "/config.json"))
        let error = #expect(throws: ModelError.self) { try GPT2LMHeadModel(folder: folder.path) }
        #expect(error?.description.contains("n_head") == true)
        let small = try GPT2LMHeadModel(GPT2Config(vocabSize: 40, contextLength: 16, width: 16, layers: 1, heads: 2), seed: 1)
        try small.save(folder: folder.path)
        var config = small.config
        config.layers = 2
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: folder.path + "/config.json"))
        let mismatch = #expect(throws: ModelError.self) { try GPT2LMHeadModel(folder: folder.path) }
        #expect(mismatch?.description.contains("transformer.h.1.attn.c_attn.weight") == true, "\(mismatch?.description ?? "")")
    }
}

/// A model LMKit saves, loaded by Hugging Face transformers (the reference venv's
/// `Tools/check/gpt2_logits.py`), gives the same logits.
@Suite struct GPT2TransformersInteropTests {
    @Test func savedCheckpointLoadsInTransformers() throws {
        let check = "transformers check of a saved GPT-2"
        guard ReferencePython.executable(for: check) != nil else { return }
        let folder = TemporaryFolder(prefix: "lmkit-gpt2-hf")
        let model = try GPT2LMHeadModel(GPT2Config(vocabSize: 70, contextLength: 24, width: 32, layers: 2, heads: 4, dropout: 0), seed: 11)
        // Train a few steps so that no weight is at its initial value pattern.
        let opt = Adam.adamW(model.namedParameters(), learningRate: 1e-2)
        let ids = Tensor(indices: (0..<20).map { ($0 * 7) % 70 }, shape: [2, 10])
        for _ in 0..<3 { model.zeroGradients(); model.loss(ids, targets: ids).backward(); opt.step() }
        model.eval()
        try model.save(folder: folder.path)
        guard
            let run = try ReferencePython.run(
                [
                    fixturePath("../../Tools/check/gpt2_logits.py"), folder.path,
                    "[[0,7,14,21,28,35,42,49,56,63],[0,7,14,21,28,35,42,49,56,63]]",
                ], for: check)
        else { return }
        #expect(run.status == 0, "\(run.stderr)")
        let data = run.stdout
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let rows = try #require(root["logits"] as? [[[Double]]])
        let expected = Tensor(shape: [2, 10, 70], doubles: rows.flatMap { $0.flatMap { $0 } })
        let c = compare(GradMode.withoutGradient { model(ids) }, expected, rtol: 1e-4, atol: 1e-5)
        #expect(c.withinTolerance, "\(c)")
    }
}
