import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Llama (with Llama 3 rotary rescaling, separate output layer) and Qwen2 (q/k/v biases, tied
/// output) against transformers 5.23 (`Tools/golden/llama_golden.py`): tiny random models saved by
/// `save_pretrained`; logits of a batch of 2 × 12 ids and of positions 40…47 of a 48-token sequence
/// (past the 16-position original context the rescaling is about), whole tensors within
/// 1e-4·|reference| + 1e-4·max|reference| (max |Δ| measured: 2.1e-5 on logits of magnitude 3.6).
@Suite struct LlamaParityTests {
    @Test(arguments: ["llama", "qwen2"]) func logitsMatchTransformers(name: String) throws {
        let golden = try SafetensorsFile(path: fixturePath("llama/goldens.safetensors")).tensors()
        let model = try LlamaForCausalLM.load(folder: fixturePath("llama/tiny-\(name)"))
        #expect((model.lmHead == nil) == (name == "qwen2"))
        if name == "llama" { #expect(model.config.llama3Scaling?.factor == 8) }
        let ids = try #require(golden["\(name).input_ids"])
        func close(_ a: Tensor, _ e: Tensor) -> Comparison {
            compare(a, e, rtol: 1e-4, atol: 1e-4 * (e.doubles.map(Swift.abs).max() ?? 1))
        }
        let c = close(GradMode.withoutGradient { model(ids) }, try #require(golden["\(name).logits"]))
        #expect(c.withinTolerance, "\(name) logits: \(c)")
        let long = try #require(golden["\(name).ids_long"])
        let logits = GradMode.withoutGradient { model(long) }.sliced(axis: 1, range: 40..<48).contiguous()
        let c2 = close(logits, try #require(golden["\(name).logits_positions_40"]))
        #expect(c2.withinTolerance, "\(name) logits at positions 40…47: \(c2)")
        // Cached generation steps give the same last logits as the full pass.
        let cache = KVCache(layers: model.config.layers)
        let values = long.indexValues
        _ = GradMode.withoutGradient { model(Tensor(indices: Array(values[0..<40]), shape: [1, 40]), cache: cache) }
        var last = Tensor.zeros([1, 96])
        for i in 40..<48 {
            last = GradMode.withoutGradient { model.lastLogits(Tensor(indices: [values[i]], shape: [1, 1]), cache: cache) }
        }
        #expect(compare(last, logits.selected(axis: 1, index: 7), rtol: 1e-4, atol: 1e-5).withinTolerance)
        // Saved by LMKit, it loads back with the same logits.
        let folder = TemporaryFolder(prefix: "lmkit-llama")
        try model.save(folder: folder.path)
        let again = try LlamaForCausalLM.load(folder: folder.path)
        #expect(again.config == model.config)
        #expect(compare(GradMode.withoutGradient { again(ids) }, GradMode.withoutGradient { model(ids) }, rtol: 0, atol: 0).withinTolerance)
    }

    /// The same two models converted by llama.cpp's own `convert_hf_to_gguf.py`
    /// (`Tools/golden/llama_gguf.py`). F32 files: transformers' logits within the same tolerance,
    /// which needs llama.cpp's query/key row permutation undone (llama) and Llama 3's rescaling read
    /// from `rope_freqs.weight`. Q8_0 files, weights kept quantized: within the quantization error
    /// of the logits (measured below) with 8-bit activations in the decoding steps.
    @Test(arguments: ["llama", "qwen2"]) func ggufFilesFromLlamaCppMatchTransformers(name: String) throws {
        let golden = try SafetensorsFile(path: fixturePath("llama/goldens.safetensors")).tensors()
        let ids = try #require(golden["\(name).input_ids"]), expected = try #require(golden["\(name).logits"])
        let long = try #require(golden["\(name).ids_long"]), expectedLong = try #require(golden["\(name).logits_positions_40"])
        let scale = expected.doubles.map(Swift.abs).max() ?? 1
        let model = try LlamaForCausalLM.load(gguf: GGUFFile(path: fixturePath("llama/tiny-\(name).gguf")))
        model.quantizedActivations = .float32
        #expect(model.config.tieWordEmbeddings == (name == "qwen2") && model.config.queryKeyValueBias == (name == "qwen2"))
        #expect((model.config.ropeFrequencyFactors != nil) == (name == "llama"))
        let c = compare(GradMode.withoutGradient { model(ids) }, expected, rtol: 1e-4, atol: 1e-4 * scale)
        #expect(c.withinTolerance, "\(name) GGUF logits: \(c)")
        let logits = GradMode.withoutGradient { model(long) }.sliced(axis: 1, range: 40..<48).contiguous()
        let c2 = compare(logits, expectedLong, rtol: 1e-4, atol: 1e-4 * scale)
        #expect(c2.withinTolerance, "\(name) GGUF logits at positions 40…47: \(c2)")

        // Q8_0: the quantized model equals its own weights expanded to float32 (float32 activations),
        // stays within the weights' quantization error of transformers, and decodes with 8-bit
        // activations close to the float pass.
        let q8File = try GGUFFile(path: fixturePath("llama/tiny-\(name)-q8_0.gguf"))
        let q8 = try LlamaForCausalLM.load(gguf: q8File), expanded = try LlamaForCausalLM.load(gguf: q8File, keepQuantized: false)
        #expect(q8.quantizedActivations == .int8 && q8.quantized.count >= 13 && expanded.quantized.isEmpty)
        q8.quantizedActivations = .float32
        let reference = GradMode.withoutGradient { expanded(long) }
        let c3 = compare(GradMode.withoutGradient { q8(long) }, reference, rtol: 1e-4, atol: 1e-4 * scale)
        #expect(c3.withinTolerance, "\(name) Q8_0 kept quantized vs expanded: \(c3)")
        let c3b = compare(GradMode.withoutGradient { q8(ids) }, expected, rtol: 0, atol: 0.05 * scale)
        #expect(c3b.withinTolerance, "\(name) Q8_0 vs transformers (weight quantization only): \(c3b)")
        q8.quantizedActivations = .int8
        let cache = KVCache(layers: q8.config.layers)
        let values = long.indexValues
        _ = GradMode.withoutGradient { q8(Tensor(indices: Array(values[0..<40]), shape: [1, 40]), cache: cache) }
        var steps: [Tensor] = []
        for i in 40..<48 {
            steps.append(GradMode.withoutGradient { q8.lastLogits(Tensor(indices: [values[i]], shape: [1, 1]), cache: cache) })
        }
        let c4 = compare(
            Tensor.concatenated(steps, axis: 0), reference.sliced(axis: 1, range: 40..<48).contiguous().reshaped([8, 96]), rtol: 0,
            atol: 0.03 * scale)
        #expect(c4.withinTolerance, "\(name) Q8_0 decoding steps with int8 activations: \(c4)")
        print("\(name) GGUF: F32 \(c); Q8_0 vs expanded \(c3); vs transformers \(c3b); int8 steps \(c4)")
    }
}
