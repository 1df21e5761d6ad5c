import Foundation
import LMKitAssets
import LMKitModels
import LMKitTensor
import LMKitTokenizers
import Testing
import TestSupport

/// The real Gemma 3 270M GGUF (asset), weights kept quantized, against transformers 5.23's
/// Gemma3ForCausalLM on the same file (`Tools/golden/gemma_reference.py`, which also cross-checks
/// transformers with a from-scratch PyTorch forward pass): token ids of 6 prompts; at each of their
/// 109 positions the logits of the reference's 16 likeliest tokens, the log-sum-exp over the whole
/// vocabulary and the top-1 token; 4,096 logits of the last position; and the per-token negative
/// log-likelihood of an 812-token Shakespeare excerpt (longer than the 512-token sliding window).
@Suite struct Gemma3ParityTests {
    /// Largest |Δ| allowed on a logit, log-sum-exp or per-token NLL (logits reach ~30; measured here:
    /// 1.0e-4 on logits and log-sum-exp, 1.1e-4 on the NLL, perplexity 65.378 vs 65.381).
    static let tolerance = 5e-4

    @Test func logitsAndPerplexityMatchTransformers() throws {
        guard TestAssets.available(.gemma) else { return }
        let path = try TestAssets.store.path(.gemma)
        let file = try SafetensorsFile(path: fixturePath("gguf/gemma_logits.safetensors"))
        let golden = try file.tensors()
        let promptsJSON = try #require(file.metadata["prompts"])
        let prompts = try #require(JSONSerialization.jsonObject(with: Data(promptsJSON.utf8)) as? [String])
        let gguf = try GGUFFile(path: path)
        let model = try Gemma3ForCausalLM.load(gguf: gguf)
        let tokenizer = try Tokenizer.gguf(gguf)
        let v = model.config.vocabularySize
        var positions = 0, agree = 0, worst = 0.0
        for (p, prompt) in prompts.enumerated() {
            let ids = try tokenizer.encode(prompt, options: .init(addSpecialTokens: true)).ids
            let expectedIDs = try #require(golden["ids.\(p)"])
            #expect(ids == expectedIDs.indexValues, "ids of prompt \(p)")
            let output = GradMode.withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }.reshaped([ids.count, v])
            let logits = output.scalars(as: Float.self)
            let logProbabilities = output.logSoftmax().scalars(as: Float.self)       // the engine's, to keep the test fast
            let argmax = output.argmax(axis: 1).indexValues
            let topTensor = try #require(golden["top.\(p)"]), topLogitsTensor = try #require(golden["top_logits.\(p)"])
            let lseTensor = try #require(golden["logsumexp.\(p)"])
            let top = topTensor.indexValues, topLogits = topLogitsTensor.scalars(as: Float.self), lse = lseTensor.scalars(as: Float.self)
            for t in 0..<ids.count {
                positions += 1
                if argmax[t] == top[t * 16] { agree += 1 }
                for k in 0..<16 { worst = max(worst, Double(abs(logits[t * v + top[t * 16 + k]] - topLogits[t * 16 + k]))) }
                let first = t * v + top[t * 16]
                worst = max(worst, abs(Double(logits[first] - logProbabilities[first]) - Double(lse[t])))   // log-sum-exp
            }
            let sample = try #require(golden["last_logits_sample.\(p)"])
            let last = Tensor(shape: [4096], scalars: Array(logits[(ids.count - 1) * v..<(ids.count - 1) * v + 4096]))
            let c = compare(last, sample, rtol: 0, atol: Self.tolerance)
            #expect(c.withinTolerance, "last-position logits of prompt \(p): \(c)")
        }
        #expect(Double(agree) >= 0.99 * Double(positions), "top-1 agreement \(agree)/\(positions)")
        #expect(worst <= Self.tolerance, "largest logit/log-sum-exp difference \(worst)")

        // Perplexity of the excerpt in one pass (the sliding window matters past position 512).
        let text = try #require(file.metadata["ppl_text"])
        let ids = try tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        let pplIDs = try #require(golden["ppl.ids"])
        #expect(ids == pplIDs.indexValues)
        let h = GradMode.withoutGradient { model.hiddenStates(Tensor(indices: ids, shape: [1, ids.count])) }
        let referenceTensor = try #require(golden["ppl.nll"])
        let reference = referenceTensor.scalars(as: Float.self)
        let outputMatrix = try #require(model.quantizedEmbedding)
        var nll: [Double] = []
        for start in stride(from: 0, to: ids.count - 1, by: 128) {
            let end = min(start + 128, ids.count - 1)
            let chunk = h.sliced(axis: 1, range: start..<end).contiguous()
            let logProbabilities = GradMode.withoutGradient { outputMatrix.linear(chunk).reshaped([end - start, v]).logSoftmax() }.scalars(as: Float.self)
            for i in 0..<(end - start) { nll.append(-Double(logProbabilities[i * v + ids[start + i + 1]])) }
        }
        let worstNLL = zip(nll, reference).map { abs($0 - Double($1)) }.max() ?? 0
        #expect(worstNLL <= Self.tolerance, "largest per-token NLL difference \(worstNLL)")
        let perplexity = exp(nll.reduce(0, +) / Double(nll.count))
        let expectedText = try #require(file.metadata["perplexity"])
        let expected = try #require(Double(expectedText))
        #expect(abs(perplexity - expected) / expected < 0.01, "perplexity \(perplexity) vs \(expected)")
        print("Gemma 3 parity: top-1 \(agree)/\(positions), max |Δ| logits \(worst), NLL \(worstNLL), perplexity \(perplexity) vs \(expected)")
    }
}
