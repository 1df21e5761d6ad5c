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
        for i in 40..<48 { last = GradMode.withoutGradient { model.lastLogits(Tensor(indices: [values[i]], shape: [1, 1]), cache: cache) } }
        #expect(compare(last, logits.selected(axis: 1, index: 7), rtol: 1e-4, atol: 1e-5).withinTolerance)
        // Saved by LMKit, it loads back with the same logits.
        let folder = TemporaryFolder(prefix: "lmkit-llama")
        try model.save(folder: folder.path)
        let again = try LlamaForCausalLM.load(folder: folder.path)
        #expect(again.config == model.config)
        #expect(compare(GradMode.withoutGradient { again(ids) }, GradMode.withoutGradient { model(ids) }, rtol: 0, atol: 0).withinTolerance)
    }
}
