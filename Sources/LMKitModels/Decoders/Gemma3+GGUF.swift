import Foundation
import LMKitNN
import LMKitTensor

/// How llama.cpp's Gemma 3 GGUF files map onto ``Gemma3ForCausalLM``: its tensor names, and norm
/// weights that its converter stores as 1 + w.
extension Gemma3Config {
    public static let ggufArchitectures = ["gemma3"]

    public static let ggufLayerNames: [(gguf: String, hf: String)] = [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"),
        ("attn_k.weight", "self_attn.k_proj.weight"),
        ("attn_v.weight", "self_attn.v_proj.weight"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("attn_q_norm.weight", "self_attn.q_norm.weight"),
        ("attn_k_norm.weight", "self_attn.k_norm.weight"),
        ("post_attention_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_norm.weight", "pre_feedforward_layernorm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
        ("post_ffw_norm.weight", "post_feedforward_layernorm.weight"),
    ]

    /// The configuration in a GGUF file's `gemma3.*` metadata. llama.cpp fixes what the file does
    /// not say: every 6th layer is global, sliding-window layers use rotary base 10,000, queries
    /// are scaled by head size^(−1/2).
    public init(gguf file: GGUFFile) throws(ModelError) {
        let arch = file["general.architecture"]?.string
        guard arch == "gemma3" else {
            throw ModelError("\(file.path): general.architecture is \(arch ?? "missing"), not gemma3")
        }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file["gemma3." + key]?.int else { throw ModelError("\(file.path): metadata gemma3.\(key) is missing or not an integer") }
            return v
        }
        var c = Gemma3Config()
        c.width = try int("embedding_length")
        c.layers = try int("block_count")
        c.heads = try int("attention.head_count")
        c.kvHeads = file["gemma3.attention.head_count_kv"]?.int ?? c.heads
        c.headSize = file["gemma3.attention.key_length"]?.int ?? c.width / c.heads
        c.intermediateSize = try int("feed_forward_length")
        c.contextLength = file["gemma3.context_length"]?.int ?? c.contextLength
        c.rmsNormEpsilon = file["gemma3.attention.layer_norm_rms_epsilon"]?.double ?? 1e-6
        c.ropeBase = file["gemma3.rope.freq_base"]?.double ?? 1_000_000
        c.slidingWindow = file["gemma3.attention.sliding_window"]?.int ?? 512
        c.globalLayers = (0..<c.layers).map { ($0 + 1) % 6 == 0 }
        c.queryPreAttentionScalar = Double(c.headSize)
        c.tieWordEmbeddings = !file.tensors.contains { $0.name == "output.weight" }
        c.bosTokenID = file["tokenizer.ggml.bos_token_id"]?.int
        c.eosTokenID = file["tokenizer.ggml.eos_token_id"]?.int
        guard let vocabulary = file.tensors.first(where: { $0.name == "token_embd.weight" })?.dimensions.last else {
            throw ModelError("\(file.path): no token_embd.weight tensor")
        }
        c.vocabSize = vocabulary
        try c.validate()
        self = c
    }

    /// llama.cpp's converter stores every Gemma norm weight as 1 + w.
    public func fromGGUF(_ tensor: Tensor, key: String) -> Tensor { key.hasSuffix("norm.weight") ? tensor - 1 : tensor }
}
