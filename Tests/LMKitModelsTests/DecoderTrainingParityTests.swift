import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// The decoder models LMKit runs (``LlamaForCausalLM``, ``Gemma3ForCausalLM``: the same
/// ``CausalDecoder``, its ``DecoderLayer``s, ``GroupedQueryAttention`` and ``GatedMLP``) trained side
/// by side with transformers 5.23 (`Tools/golden/decoder_training.py`): two-layer models built from
/// the configs transformers wrote, on a right-padded batch with its attention mask, give
/// transformers' logits, loss, every parameter's gradient, and the same losses, gradient norms and
/// final weights over 10 clipped AdamW steps (tolerance in ``expectMatches(_:_:_:)``).
@Suite struct DecoderTrainingParityTests {
    static let golden = Result { try SafetensorsFile(path: fixturePath("decoders/training_parity.safetensors")) }

    func check<F: DecoderFamily>(_ family: F.Type, _ prefix: String, logitsAtRealTokensOnly: Bool = false) throws {
        let file = try Self.golden.get()
        let json = try #require(file.metadata["\(prefix).config"])
        let config = try F(json: Data(json.utf8), source: "\(prefix).config")
        let model = try CausalDecoder(config)
        model.train()
        let idx = try file.tensor("\(prefix).idx"), padding = try file.tensor("\(prefix).attention_mask")
        try checkTrainingParity(model, golden: file, prefix: prefix, logitPositions: logitsAtRealTokensOnly ? padding : nil) {
            model(idx, padding: padding)
        }
    }

    /// Rotary positions, grouped-query attention with q/k/v/o biases, SwiGLU, a separate `lm_head`.
    @Test func llamaTrainsAsTransformersDoes() throws { try check(LlamaConfig.self, "llama") }

    /// Query/key norms, (1 + w) sandwich norms, GeGLU, a 3-position window on layer 0, √width
    /// embedding scale, the output tied to the embeddings.
    ///
    /// Logits are compared at real tokens only: in the windowed layer, a padded query more than 3
    /// positions past the last real token sees no key at all. transformers masks with the float
    /// minimum, so such a row attends uniformly to every key; LMKit's attention gives a row with no
    /// key zeros. Neither is meaningful, and nothing reads it: the loss and every gradient ignore
    /// padded positions, and they are compared whole.
    @Test func gemma3TrainsAsTransformersDoes() throws { try check(Gemma3Config.self, "gemma3", logitsAtRealTokensOnly: true) }
}
