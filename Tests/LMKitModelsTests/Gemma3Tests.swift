import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// A tiny random Gemma 3 (no asset needed): the KV cache with sliding-window layers gives the
/// logits of a full pass, and a saved Hugging Face folder loads back to the same model.
@Suite struct Gemma3Tests {
    static func tinyConfig() -> Gemma3Config {
        var c = Gemma3Config()
        c.vocabSize = 50; c.width = 16; c.layers = 3; c.heads = 4; c.kvHeads = 2; c.headSize = 8
        c.intermediateSize = 24; c.slidingWindow = 4; c.globalLayers = [false, false, true]; c.contextLength = 64
        return c
    }

    @Test func cachedStepsMatchAFullPassAcrossTheSlidingWindow() throws {
        let model = try Gemma3ForCausalLM(Self.tinyConfig(), seed: 3)
        model.eval()
        let ids = (0..<11).map { ($0 * 7 + 3) % 50 }
        let full = GradMode.withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }  // (1, 11, 50)
        let cache = KVCache(layers: 3)
        var rows: [Tensor] = []
        // A 3-token prompt, then one token at a time: positions past the 4-token window must drop out.
        rows.append(GradMode.withoutGradient { model(Tensor(indices: Array(ids[0..<3]), shape: [1, 3]), cache: cache) })
        for i in 3..<ids.count {
            rows.append(GradMode.withoutGradient { model(Tensor(indices: [ids[i]], shape: [1, 1]), cache: cache) })
        }
        let stepped = Tensor.concatenated(rows, axis: 1)
        let c = compare(stepped, full, rtol: 1e-5, atol: 1e-5)
        #expect(c.withinTolerance, "\(c)")
        // The window matters: a model whose local layers saw everything gives other logits.
        var wide = Self.tinyConfig()
        wide.slidingWindow = 64
        let unwindowed = try Gemma3ForCausalLM(wide, seed: 3)
        unwindowed.eval()
        let other = GradMode.withoutGradient { unwindowed(Tensor(indices: ids, shape: [1, ids.count])) }
        #expect(!compare(other, full, rtol: 1e-4, atol: 1e-4).withinTolerance)
        let last = GradMode.withoutGradient { model.lastLogits(Tensor(indices: ids, shape: [1, ids.count]), cache: nil) }
        #expect(compare(last, full.selected(axis: 1, index: 10), rtol: 1e-6, atol: 1e-6).withinTolerance)
    }

    /// A prompt longer than `promptChunkTokens` fills the cache in chunks (queries that start past
    /// the cached keys, causal and sliding-window masks shifted): the last logits equal a full pass.
    @Test func longPromptsFillTheCacheInChunks() throws {
        var config = Self.tinyConfig()
        config.contextLength = 1024
        let model = try Gemma3ForCausalLM(config, seed: 5)
        model.eval()
        let ids = (0..<(2 * promptChunkTokens + 37)).map { ($0 * 13 + 5) % 50 }
        let full = GradMode.withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }.selected(axis: 1, index: ids.count - 1)
        let cache = KVCache(layers: 3)
        let chunked = GradMode.withoutGradient { model.lastLogits(Tensor(indices: ids, shape: [1, ids.count]), cache: cache) }
        #expect(cache.length == ids.count)
        let c = compare(chunked, full, rtol: 1e-5, atol: 1e-5)
        #expect(c.withinTolerance, "\(c)")
    }

    @Test func savedFolderLoadsBack() throws {
        let model = try Gemma3ForCausalLM(Self.tinyConfig(), seed: 4)
        model.eval()
        let folder = TemporaryFolder(prefix: "lmkit-gemma3")
        try model.save(folder: folder.path)
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/config.json"))) as? [String: Any])
        #expect(
            config["model_type"] as? String == "gemma3_text"
                && config["layer_types"] as? [String] == ["sliding_attention", "sliding_attention", "full_attention"])
        let again = try Gemma3ForCausalLM.load(folder: folder.path)
        #expect(again.config == model.config)
        let ids = Tensor(indices: [1, 2, 3, 4, 5, 6], shape: [1, 6])
        #expect(compare(GradMode.withoutGradient { again(ids) }, GradMode.withoutGradient { model(ids) }, rtol: 0, atol: 0).withinTolerance)
        // A folder whose config is not Gemma 3 is a clear error.
        try Data("{\"model_type\": \"llama\"}".utf8).write(to: URL(fileURLWithPath: folder.path + "/config.json"))
        #expect { _ = try Gemma3ForCausalLM.load(folder: folder.path) } throws: {
            "\($0)".contains("\"llama\" is not a Gemma 3 model_type")
        }
    }
}
