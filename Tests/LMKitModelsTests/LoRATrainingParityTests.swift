import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// LoRA and QLoRA adapters trained side by side with peft 0.21 on transformers 5.23
/// (`Tools/golden/lora_training.py`): the same base weights and adapter tensors, under peft's saved
/// keys, give peft's logits, loss, every adapter gradient, and the same losses, gradient norms and
/// adapters over 10 clipped AdamW steps on the adapters alone (tolerance in ``expectMatches(_:_:_:)``).
@Suite struct LoRATrainingParityTests {
    static let golden = Result { try SafetensorsFile(path: fixturePath("decoders/lora_parity.safetensors")) }

    /// The golden's base weights `P.base.*` by transformers' names.
    static func base(_ file: SafetensorsFile, _ p: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix(p + ".base.") { out[String(name.dropFirst(p.count + 6))] = try file.tensor(name) }
        return out
    }

    static func loraConfig(_ file: SafetensorsFile, _ p: String) throws -> LoRAConfig {
        try JSONDecoder().decode(LoRAConfig.self, from: Data(try #require(file.metadata["\(p).lora"]).utf8))
    }

    /// A decoder of family `F` with the golden's base weights; `quantized` names the golden's Q4_0 blocks.
    func decoder<F: DecoderFamily>(_ family: F.Type, _ p: String, quantized: Bool = false) throws -> CausalDecoder<F> {
        let file = try Self.golden.get()
        let config = try F(json: Data(try #require(file.metadata["\(p).config"]).utf8), source: "\(p).config")
        var weights = try Self.base(file, p)
        if config.tieWordEmbeddings { weights["lm_head.weight"] = nil }
        var blocks: [String: QuantizedMatrix] = [:]
        if quantized {
            for name in file.names where name.hasPrefix(p + ".q4_0.") {
                let key = String(name.dropFirst(p.count + 6))
                let removed = weights.removeValue(forKey: key)
                let shape = try #require(removed).shape
                let bytes = try file.tensor(name)
                blocks[key] = QuantizedMatrix(type: .q4_0, rows: shape[0], columns: shape[1], bytes: bytes.indexValues.map { UInt8($0) })
            }
            #expect(blocks.count == 14)
        }
        let model = try CausalDecoder(config, randomInit: false, quantized: blocks)
        model.quantizedActivations = .float32
        try model.load(weights)
        return model
    }

    func check(_ model: Module, _ p: String, realTokensOnly: Bool = false, forward: @escaping (Tensor, Tensor) -> Tensor) throws {
        let file = try Self.golden.get()
        let lora = try LoRAAdapters(attachingTo: model, config: try Self.loraConfig(file, p))
        #expect(model.namedParameters().allSatisfy { !$0.parameter.isTrainable }, "the base model is frozen")
        let idx = try file.tensor("\(p).idx"), padding = try file.tensor("\(p).attention_mask")
        model.train()
        try checkTrainingParity(lora, golden: file, prefix: p, logitPositions: realTokensOnly ? padding : nil) { forward(idx, padding) }
    }

    /// All-linear LoRA (every q/k/v/o, gate/up/down projection; their biases frozen) on the Llama with an untied head.
    @Test func llamaAdaptersTrainAsPeftDoes() throws {
        let model = try decoder(LlamaConfig.self, "llama")
        try check(model, "llama") { model($0, padding: $1) }
    }

    /// rsLoRA scaling (alpha / √r) on q_proj, v_proj and down_proj of Gemma 3.
    @Test func gemma3AdaptersTrainAsPeftDoes() throws {
        let model = try decoder(Gemma3Config.self, "gemma3")
        try check(model, "gemma3", realTokensOnly: true) { model($0, padding: $1) }
    }

    /// GPT-2's Conv1D layers (`c_attn`, `c_proj` in attention and MLP): the adapters' keys and shapes
    /// are peft's, whatever layout the base stores. Right padding needs no mask for real tokens.
    @Test func gpt2AdaptersTrainAsPeftDoes() throws {
        let file = try Self.golden.get()
        let config = try JSONDecoder().decode(GPT2Config.self, from: Data(try #require(file.metadata["gpt2.config"]).utf8))
        let model = try GPT2LMHeadModel(config)
        try model.load(GPT2Checkpoint.fromHuggingFace(try Self.base(file, "gpt2"), tied: true))
        try check(model, "gpt2", realTokensOnly: true) { ids, _ in model(ids) }
    }

    /// QLoRA: every projection stays in its Q4_0 blocks; gradients reach the adapters of earlier
    /// layers through the quantized matrices. peft trains the same adapters on the dequantized weights.
    @Test func qloraAdaptersOnQ4_0TrainAsPeftDoes() throws {
        let model = try decoder(LlamaConfig.self, "qlora", quantized: true)
        #expect(model.quantized.count == 14)
        try check(model, "qlora") { model($0, padding: $1) }
    }
}
