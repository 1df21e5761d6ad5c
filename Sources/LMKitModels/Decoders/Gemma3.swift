// Gemma 3 (Gemma Team 2025, "Gemma 3 Technical Report"), the text decoder. Mirrors Hugging Face
// transformers `models/gemma3/modeling_gemma3.py` (Gemma3ForCausalLM): embeddings scaled by √width;
// per layer an RMS-normed attention block with query/key RMS norms, rotary positions (base 1e6 on
// global layers, 10,000 on sliding-window layers), grouped-query attention, and norms after the
// attention and the GeGLU feed-forward block too; interleaved local (sliding window) and global
// layers; the output matrix tied to the embeddings. Gemma's RMS norms scale by (1 + w).
// The model is ``CausalDecoder``; this file is its configuration. GGUF files: Gemma3+GGUF.swift.
import Foundation
import LMKitNN
import LMKitTensor

/// Gemma 3's text decoder (`Gemma3ForCausalLM`).
public typealias Gemma3ForCausalLM = CausalDecoder<Gemma3Config>

/// Gemma 3's text configuration (`Gemma3TextConfig`); the coding keys are `config.json`'s. The text
/// part of a multimodal `gemma3` config (`text_config`) reads too.
public struct Gemma3Config: Sendable, Equatable {
    /// Rows of the embedding table (`vocab_size`).
    public var vocabSize = 262_144
    /// Width of each token vector (`hidden_size`).
    public var width = 640
    /// Number of decoder layers (`num_hidden_layers`).
    public var layers = 18
    /// Query heads per layer (`num_attention_heads`).
    public var heads = 4
    /// Key/value heads per layer, each shared by `heads / kvHeads` query heads (`num_key_value_heads`).
    public var kvHeads = 1
    /// Width of each attention head (`head_dim`); in Gemma 3 not `width / heads`.
    public var headSize = 256
    /// Width of the MLP's hidden layer (`intermediate_size`).
    public var intermediateSize = 2048
    /// Epsilon of every RMS norm (`rms_norm_eps`).
    public var rmsNormEpsilon = 1e-6
    /// Rotary base of the global (full-attention) layers.
    public var ropeBase = 1_000_000.0
    /// Rotary base of the sliding-window layers.
    public var ropeLocalBase = 10_000.0
    /// Positions a sliding-window layer's queries see, their own included (`sliding_window`).
    public var slidingWindow = 512
    /// Whether each layer attends globally (the others see the last `slidingWindow` positions).
    public var globalLayers: [Bool] = (0..<18).map { ($0 + 1) % 6 == 0 }
    /// Queries are scaled by queryPreAttentionScalar^(−1/2).
    public var queryPreAttentionScalar = 256.0
    /// Longest sequence the model was trained for (`max_position_embeddings`).
    public var contextLength = 32_768
    /// Whether the output layer reuses the embedding matrix (`tie_word_embeddings`; Gemma 3 ties it).
    public var tieWordEmbeddings = true
    /// Token that starts a sequence (`bos_token_id`, `<bos>`).
    public var bosTokenID: Int? = 2
    /// Token that ends a sequence (`eos_token_id`, `<eos>`; the first of a list).
    public var eosTokenID: Int? = 1

    /// Gemma 3 270M's configuration; decoding a `config.json` replaces it.
    public init() {}
}

extension Gemma3Config: DecoderFamily {
    /// The family as messages name it.
    public static let displayName = "Gemma 3"
    /// `gemma3_text`, and the multimodal `gemma3` whose `text_config` is read.
    public static let modelTypes = ["gemma3_text", "gemma3"]

    /// √width rounded to float32: Gemma multiplies the token embeddings by it.
    public var embeddingScale: Double? { Double(Float(Double(width).squareRoot())) }  // rounded to float32, as transformers does
    /// 1: Gemma's RMS norms scale by (1 + w).
    public var normWeightOffset: Double { 1 }

    /// Layer `index`: a global layer has rotary base `ropeBase` and no window, a local one `ropeLocalBase` and
    /// `slidingWindow`; all have q/k norms, a GeGLU MLP and sandwich norms.
    public func layer(_ index: Int) -> DecoderLayer.Options {
        let global = globalLayers[index]
        var a = GroupedQueryAttention.Options(width: width, heads: heads, kvHeads: kvHeads, headSize: headSize)
        a.rotary = RotaryEmbedding(headSize: headSize, base: global ? ropeBase : ropeLocalBase)
        a.headNorm = .init(eps: rmsNormEpsilon, weightOffset: 1)
        a.window = global ? nil : slidingWindow
        a.scale = 1 / queryPreAttentionScalar.squareRoot()
        var o = DecoderLayer.Options(attention: a, hidden: intermediateSize, activation: .geluTanh, rmsNormEpsilon: rmsNormEpsilon)
        o.normWeightOffset = 1
        o.sandwichNorms = true
        return o
    }

    /// Checks that the sizes are positive, query heads a multiple of key/value heads, `globalLayers` one
    /// per layer, the head size even and the window and query scalar positive.
    public func validate() throws(ModelError) {
        guard vocabSize > 0, width > 0, layers > 0, heads > 0, kvHeads > 0, headSize > 0, intermediateSize > 0 else {
            throw ModelError("Gemma 3 config: sizes must be positive")
        }
        guard heads % kvHeads == 0 else {
            throw ModelError("Gemma 3 config: \(heads) query heads are not a multiple of \(kvHeads) key/value heads")
        }
        guard globalLayers.count == layers else {
            throw ModelError("Gemma 3 config: \(globalLayers.count) layer types for \(layers) layers")
        }
        guard headSize % 2 == 0, slidingWindow > 0, queryPreAttentionScalar > 0 else {
            throw ModelError("Gemma 3 config: head size must be even, sliding window and query scalar positive")
        }
    }
}

extension Gemma3Config: Codable {
    /// Gemma 3's own keys; the ones every family has are ``CommonConfigKeys``.
    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", textConfig = "text_config"
        case ropeBase = "rope_theta", ropeLocalBase = "rope_local_base_freq"
        case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case slidingWindow = "sliding_window", layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern"
        case queryPreAttentionScalar = "query_pre_attn_scalar", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
        case hiddenActivation = "hidden_activation", finalLogitSoftcapping = "final_logit_softcapping"
        case attentionLogitSoftcapping = "attn_logit_softcapping", padTokenID = "pad_token_id"
        case bidirectional = "use_bidirectional_attention"
    }

    /// Rotary bases come from `rope_theta` / `rope_local_base_freq` or from transformers 5's
    /// `rope_parameters`; layer kinds from `layer_types` or `sliding_window_pattern`. Variants LMKit
    /// does not run (soft-capping, rotary scaling, another activation) are errors naming the key.
    public init(from decoder: any Decoder) throws {
        let outer = try decoder.container(keyedBy: CodingKeys.self)
        let multimodal =
            try outer.checkModelType(Self.modelTypes, family: Self.displayName, forKey: .modelType) == "gemma3"
            && outer.contains(.textConfig)
        let text = multimodal ? try outer.superDecoder(forKey: .textConfig) : decoder
        let c = try text.container(keyedBy: CodingKeys.self)
        let shape = try DecoderShape(from: text)
        var d = Gemma3Config()
        d.vocabSize = shape.vocabSize ?? d.vocabSize
        (d.width, d.layers, d.heads, d.kvHeads, d.headSize) = (shape.width, shape.layers, shape.heads, shape.kvHeads, shape.headSize)
        d.intermediateSize = shape.intermediateSize
        d.contextLength = shape.contextLength ?? d.contextLength
        d.rmsNormEpsilon = shape.rmsNormEpsilon ?? 1e-6
        d.tieWordEmbeddings = shape.tieWordEmbeddings ?? true
        d.slidingWindow = try c.decodeInteger(forKey: .slidingWindow) ?? d.slidingWindow
        d.queryPreAttentionScalar = try c.decodeIfPresent(Double.self, forKey: .queryPreAttentionScalar) ?? Double(d.headSize)
        let rope = try c.decodeIfPresent([String: RopeParameters].self, forKey: .ropeParameters)
        d.ropeBase = try rope?["full_attention"]?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeBase) ?? 1_000_000
        d.ropeLocalBase = try rope?["sliding_attention"]?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeLocalBase) ?? 10_000
        for (layerKind, p) in rope ?? [:] where p.kind != "default" {
            throw DecodingError.dataCorruptedError(
                forKey: .ropeParameters, in: c,
                debugDescription:
                    "rope_type \"\(p.kind)\" of \(layerKind) is not supported for Gemma 3 (default only)")
        }
        if let scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling), scaling != RopeParameters() {
            throw DecodingError.dataCorruptedError(
                forKey: .ropeScaling, in: c, debugDescription: "rotary scaling is not supported for Gemma 3")
        }
        if let kinds = try c.decodeIfPresent([String].self, forKey: .layerTypes) {
            d.globalLayers = kinds.map { $0 == "full_attention" }
        } else {
            let pattern = try c.decodeInteger(forKey: .slidingWindowPattern) ?? 6
            d.globalLayers = (0..<d.layers).map { ($0 + 1) % max(pattern, 1) == 0 }
        }
        for key in [CodingKeys.finalLogitSoftcapping, .attentionLogitSoftcapping] {
            guard try c.decodeIfPresent(Double.self, forKey: key) != nil else { continue }
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "logit soft-capping is not supported")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .bidirectional) == true {
            throw DecodingError.dataCorruptedError(
                forKey: .bidirectional, in: c, debugDescription: "bidirectional attention (EmbeddingGemma) is not a causal decoder")
        }
        let activation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? "gelu_pytorch_tanh"
        guard activation == GatedMLP.Activation.geluTanh.rawValue else {
            throw DecodingError.dataCorruptedError(
                forKey: .hiddenActivation, in: c, debugDescription: "\"\(activation)\" is not supported (gelu_pytorch_tanh)")
        }
        d.bosTokenID = try c.decodeTokenID(forKey: .bosTokenID)
        d.eosTokenID = try c.decodeTokenID(forKey: .eosTokenID)
        self = d
    }

    /// The `config.json` transformers reads as `Gemma3ForCausalLM` (`gemma3_text`).
    public func encode(to encoder: any Encoder) throws {
        try encodeCommonKeys(to: encoder, modelType: "gemma3_text", architecture: "Gemma3ForCausalLM")
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slidingWindow, forKey: .slidingWindow)
        try c.encode(queryPreAttentionScalar, forKey: .queryPreAttentionScalar)
        try c.encode(ropeBase, forKey: .ropeBase)
        try c.encode(ropeLocalBase, forKey: .ropeLocalBase)
        try c.encode(globalLayers.map { $0 ? "full_attention" : "sliding_attention" }, forKey: .layerTypes)
        try c.encode(GatedMLP.Activation.geluTanh.rawValue, forKey: .hiddenActivation)
        try c.encode(0, forKey: .padTokenID)
        try c.encode(bosTokenID, forKey: .bosTokenID)
        try c.encode(eosTokenID, forKey: .eosTokenID)
        try c.encodeNil(forKey: .finalLogitSoftcapping)
        try c.encodeNil(forKey: .attentionLogitSoftcapping)
    }
}

/// Rotary settings as `config.json` writes them (`rope_parameters`, legacy `rope_scaling`).
struct RopeParameters: Codable, Equatable {
    var ropeTheta: Double?
    var ropeType: String?
    /// transformers 4's older spelling of `rope_type`.
    var type: String?
    var factor: Double?
    var lowFreqFactor: Double?
    var highFreqFactor: Double?
    var originalMaxPositionEmbeddings: Int?

    enum CodingKeys: String, CodingKey {
        case ropeTheta = "rope_theta", ropeType = "rope_type", type, factor, lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    /// The scaling kind, "default" when none is named.
    var kind: String { ropeType ?? type ?? "default" }
}

extension Gemma3Config {
    public func resized(heads: Int, intermediateSize: Int) -> Self {
        var c = self
        (c.heads, c.intermediateSize) = (heads, intermediateSize)
        return c
    }
}
