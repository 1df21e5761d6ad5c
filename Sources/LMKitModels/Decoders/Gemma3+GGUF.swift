import Foundation
import LMKitNN
import LMKitTensor

/// How llama.cpp's Gemma 3 GGUF files map onto ``Gemma3ForCausalLM``: its tensor names, and norm
/// weights that its converter stores as 1 + w.
extension Gemma3Config {
    /// llama.cpp's architecture name for Gemma 3 text models.
    public static let ggufArchitectures = ["gemma3"]

    /// Per-layer tensor names: llama.cpp's `ffn_norm` is Gemma's `pre_feedforward_layernorm`.
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
        let m = try GGUFDecoderMetadata(file, architectures: Self.ggufArchitectures)
        var c = Gemma3Config()
        (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize) = (m.vocabSize, m.width, m.layers, m.heads, m.kvHeads, m.headSize)
        c.intermediateSize = m.intermediateSize
        c.contextLength = m.contextLength ?? c.contextLength
        c.rmsNormEpsilon = m.rmsNormEpsilon ?? 1e-6
        c.ropeBase = m.ropeBase ?? 1_000_000
        c.slidingWindow = m.slidingWindow ?? 512
        c.globalLayers = (0..<c.layers).map { ($0 + 1) % 6 == 0 }
        c.queryPreAttentionScalar = Double(c.headSize)
        c.tieWordEmbeddings = !m.hasOutput
        (c.bosTokenID, c.eosTokenID) = (m.bosTokenID, m.eosTokenID)
        do { try c.validate() } catch { throw ModelError("\(file.path): \(error.description)") }
        self = c
    }

    /// llama.cpp's converter stores every Gemma norm weight as 1 + w.
    public func fromGGUF(_ tensor: Tensor, key: String) -> Tensor { key.hasSuffix("norm.weight") ? tensor - 1 : tensor }
}

extension Gemma3Config {
    /// `gemma3` metadata. llama.cpp fixes what the file does not say (every 6th layer global, local
    /// rotary base 10,000, queries scaled by head size^(−1/2)): a configuration that differs is an error.
    public func ggufMetadata() throws(ModelError) -> [(key: String, value: GGUFValue)] {
        guard globalLayers == (0..<layers).map({ ($0 + 1) % 6 == 0 }), ropeLocalBase == 10_000, queryPreAttentionScalar == Double(headSize)
        else {
            throw ModelError(
                "this Gemma 3 configuration (global layers, local rotary base or query scale) differs from what llama.cpp assumes for gemma3 files"
            )
        }
        return [
            ("general.architecture", .string("gemma3")),
            ("gemma3.context_length", .uint32(UInt32(contextLength))), ("gemma3.embedding_length", .uint32(UInt32(width))),
            ("gemma3.block_count", .uint32(UInt32(layers))), ("gemma3.feed_forward_length", .uint32(UInt32(intermediateSize))),
            ("gemma3.attention.head_count", .uint32(UInt32(heads))), ("gemma3.attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("gemma3.attention.key_length", .uint32(UInt32(headSize))), ("gemma3.attention.value_length", .uint32(UInt32(headSize))),
            ("gemma3.rope.freq_base", .float32(Float(ropeBase))), ("gemma3.attention.sliding_window", .uint32(UInt32(slidingWindow))),
            ("gemma3.attention.layer_norm_rms_epsilon", .float32(Float(rmsNormEpsilon))),
        ]
    }

    /// Norm weights stored as 1 + w, as llama.cpp's converter does.
    public func toGGUF(_ tensor: Tensor, key: String) -> Tensor { key.hasSuffix("norm.weight") ? tensor + 1 : tensor }
}
