// The Llama family (Touvron et al. 2023, "LLaMA"; Llama 2 and 3; Qwen2, SmolLM and Mistral share the
// layout): pre-norm decoder layers with RMSNorm, rotary positions (with Llama 3's frequency
// rescaling when the config asks for it), grouped-query attention (Qwen2 adds biases to q, k and v),
// a SwiGLU feed-forward block, and an output layer tied to the embeddings or not. Mirrors Hugging
// Face transformers `models/llama/modeling_llama.py` (LlamaForCausalLM) and `qwen2`; parameter names
// are the Hugging Face keys. The model is ``CausalDecoder``; this file is its configuration. GGUF
// files: Llama+GGUF.swift.
import Foundation
import LMKitNN
import LMKitTensor

/// A Llama-family causal language model (`LlamaForCausalLM`, `Qwen2ForCausalLM`, `MistralForCausalLM`).
public typealias LlamaForCausalLM = CausalDecoder<LlamaConfig>

/// Llama 3's rotary frequency rescaling for long contexts (`rope_type: llama3`).
public struct Llama3RopeScaling: Sendable, Equatable {
    /// How many times longer the new context is (`factor`); long wavelengths are divided by it.
    public var factor: Double
    /// Wavelengths above `originalContext / lowFrequencyFactor` are divided by `factor` (`low_freq_factor`).
    public var lowFrequencyFactor = 1.0
    /// Wavelengths below `originalContext / highFrequencyFactor` are kept (`high_freq_factor`).
    public var highFrequencyFactor = 4.0
    /// The context the model was first trained for (`original_max_position_embeddings`).
    public var originalContext: Int

    /// A rescaling whose low and high frequency factors default to Llama 3.1's (1 and 4).
    public init(factor: Double, lowFrequencyFactor: Double = 1, highFrequencyFactor: Double = 4, originalContext: Int) {
        (self.factor, self.lowFrequencyFactor, self.highFrequencyFactor, self.originalContext) = (
            factor, lowFrequencyFactor, highFrequencyFactor, originalContext
        )
    }
}

/// A Llama-family configuration (`config.json` of `llama`, `qwen2`, `mistral` models); the coding
/// keys are `config.json`'s.
public struct LlamaConfig: Sendable, Equatable {
    /// `model_type`: `llama`, `qwen2` or `mistral`; it decides the q/k/v biases, how the window is read and
    /// the architecture written.
    public var modelType = "llama"
    /// Rows of the embedding table (`vocab_size`).
    public var vocabSize = 32_000
    /// Width of each token vector (`hidden_size`).
    public var width = 4096
    /// Number of decoder layers (`num_hidden_layers`).
    public var layers = 32
    /// Query heads per layer (`num_attention_heads`).
    public var heads = 32
    /// Key/value heads per layer (`num_key_value_heads`); fewer than `heads` is grouped-query attention.
    public var kvHeads = 32
    /// Width of each attention head (`head_dim`, else `width / heads`).
    public var headSize = 128
    /// Width of the MLP's hidden layer (`intermediate_size`).
    public var intermediateSize = 11_008
    /// Epsilon of every RMS norm (`rms_norm_eps`).
    public var rmsNormEpsilon = 1e-5
    /// Rotary base θ (`rope_theta`): frequency i of a head of D is θ^(−2i/D).
    public var ropeBase = 10_000.0
    /// Llama 3 rescaling (nil: none).
    public var llama3Scaling: Llama3RopeScaling?
    /// Per-frequency divisors of the rotary frequencies (a GGUF file's `rope_freqs.weight`, where
    /// llama.cpp's converter stores Llama 3's rescaling). `config.json` has no place for them.
    public var ropeFrequencyFactors: [Float]?
    /// Biases on q, k, v and o (`attention_bias`).
    public var attentionBias = false
    /// Whether the output layer reuses the embedding matrix (`tie_word_embeddings`).
    public var tieWordEmbeddings = false
    /// Mistral's sliding window (nil: every layer attends to everything).
    public var slidingWindow: Int?
    /// Longest sequence the model was trained for (`max_position_embeddings`).
    public var contextLength = 4096
    /// Token that starts a sequence (`bos_token_id`; nil: none given).
    public var bosTokenID: Int?
    /// Token that ends a sequence (`eos_token_id`, the first of a list; nil: none given).
    public var eosTokenID: Int?

    /// Llama 2 7B's sizes; decoding a `config.json` replaces them.
    public init() {}

    /// Biases on q, k and v: Qwen2 always has them, others with `attention_bias`.
    public var queryKeyValueBias: Bool { modelType == "qwen2" || attentionBias }

    /// The rotary inverse frequencies this configuration implies.
    var rotaryFrequencies: [Float] {
        let base = RotaryEmbedding.defaultFrequencies(headSize: headSize, base: ropeBase)
        if let factors = ropeFrequencyFactors { return zip(base, factors).map { $0 / $1 } }
        guard let s = llama3Scaling else { return base }
        return RotaryEmbedding.llama3Frequencies(
            base, factor: s.factor, lowFrequencyFactor: s.lowFrequencyFactor,
            highFrequencyFactor: s.highFrequencyFactor, originalContext: s.originalContext)
    }
}

extension LlamaConfig: DecoderFamily {
    /// The family as messages name it.
    public static let displayName = "Llama-family"
    /// The `model_type` values read: `llama`, `qwen2`, `mistral`.
    public static let modelTypes = ["llama", "qwen2", "mistral"]

    /// nil: the Llama family does not scale its token embeddings.
    public var embeddingScale: Double? { nil }
    /// 0: the Llama family's RMS norms scale by w.
    public var normWeightOffset: Double { 0 }

    /// Every layer alike: rotary positions (rescaled as configured), the configured biases and window, a SwiGLU MLP.
    public func layer(_ index: Int) -> DecoderLayer.Options {
        var a = GroupedQueryAttention.Options(width: width, heads: heads, kvHeads: kvHeads, headSize: headSize)
        a.rotary = RotaryEmbedding(headSize: headSize, base: ropeBase, inverseFrequencies: rotaryFrequencies)
        a.bias = attentionBias
        a.queryKeyValueBias = queryKeyValueBias
        a.window = slidingWindow
        return DecoderLayer.Options(attention: a, hidden: intermediateSize, activation: .silu, rmsNormEpsilon: rmsNormEpsilon)
    }

    /// Checks that the sizes are positive, the head size even, query heads a multiple of key/value heads,
    /// and that rotary frequency factors, if any, are one positive number per frequency.
    public func validate() throws(ModelError) {
        guard vocabSize > 0, width > 0, layers > 0, heads > 0, kvHeads > 0, headSize > 0, intermediateSize > 0, headSize % 2 == 0 else {
            throw ModelError("\(modelType) config: sizes must be positive and the head size even")
        }
        guard heads % kvHeads == 0 else {
            throw ModelError("\(modelType) config: \(heads) query heads are not a multiple of \(kvHeads) key/value heads")
        }
        if let f = ropeFrequencyFactors, f.count != headSize / 2 || !f.allSatisfy({ $0 > 0 && $0.isFinite }) {
            throw ModelError(
                "\(modelType) config: \(f.count) rotary frequency factors for \(headSize / 2) frequencies, or factors that are not positive"
            )
        }
    }
}

extension LlamaConfig: Codable {
    /// The Llama family's own keys (and `vocab_size`, which it requires); the ones every family has
    /// are ``CommonConfigKeys``.
    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenActivation = "hidden_act"
        case mlpBias = "mlp_bias", attentionBias = "attention_bias"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case ropeBase = "rope_theta", ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
    }

    /// Rotary settings come from transformers 5's `rope_parameters` or transformers 4's `rope_theta`
    /// and `rope_scaling`. Variants LMKit does not run are errors naming the key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = LlamaConfig()
        d.modelType = try c.checkModelType(Self.modelTypes, family: Self.displayName, forKey: .modelType)
        let shape = try DecoderShape(from: decoder)
        d.vocabSize = try shape.vocabSize ?? c.decodeInteger(required: .vocabSize)  // required: the error names it
        (d.width, d.layers, d.heads, d.kvHeads, d.headSize) = (shape.width, shape.layers, shape.heads, shape.kvHeads, shape.headSize)
        d.intermediateSize = shape.intermediateSize
        d.contextLength = shape.contextLength ?? 4096
        d.rmsNormEpsilon = shape.rmsNormEpsilon ?? 1e-6
        d.tieWordEmbeddings = shape.tieWordEmbeddings ?? false
        let activation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? "silu"
        guard activation == GatedMLP.Activation.silu.rawValue else {
            throw DecodingError.dataCorruptedError(
                forKey: .hiddenActivation, in: c, debugDescription: "\"\(activation)\" is not supported (silu)")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
            throw DecodingError.dataCorruptedError(forKey: .mlpBias, in: c, debugDescription: "MLP biases are not supported")
        }
        d.attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        let windowed =
            try d.modelType == "mistral" || (d.modelType == "qwen2" && c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) == true)
        d.slidingWindow = windowed ? try c.decodeInteger(forKey: .slidingWindow) : nil
        let ropeKey = c.contains(.ropeParameters) ? CodingKeys.ropeParameters : .ropeScaling
        let rope = try c.decodeIfPresent(RopeParameters.self, forKey: ropeKey) ?? RopeParameters()
        d.ropeBase = try rope.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeBase) ?? 10_000
        switch rope.kind {
        case "default": break
        case "llama3":
            guard let factor = rope.factor, let original = rope.originalMaxPositionEmbeddings else {
                throw DecodingError.dataCorruptedError(
                    forKey: ropeKey, in: c, debugDescription: "llama3 rope scaling needs factor and original_max_position_embeddings")
            }
            d.llama3Scaling = Llama3RopeScaling(
                factor: factor, lowFrequencyFactor: rope.lowFreqFactor ?? 1,
                highFrequencyFactor: rope.highFreqFactor ?? 4, originalContext: original)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: ropeKey, in: c, debugDescription: "rope_type \"\(rope.kind)\" is not supported (default, llama3)")
        }
        d.bosTokenID = try c.decodeTokenID(forKey: .bosTokenID)
        d.eosTokenID = try c.decodeTokenID(forKey: .eosTokenID)
        self = d
    }

    /// The `config.json` transformers reads as `LlamaForCausalLM`, `Qwen2ForCausalLM` or
    /// `MistralForCausalLM`. Rotary frequency factors from a GGUF file that are not Llama 3's
    /// rescaling have no `config.json` form: encoding them is an error.
    public func encode(to encoder: any Encoder) throws {
        if ropeFrequencyFactors != nil && llama3Scaling == nil {
            throw EncodingError.invalidValue(
                ropeFrequencyFactors as Any,
                .init(
                    codingPath: [],
                    debugDescription:
                        "rotary frequency factors (a GGUF file's rope_freqs.weight) have no config.json form"))
        }
        let architecture = ["qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"][modelType] ?? "LlamaForCausalLM"
        try encodeCommonKeys(to: encoder, modelType: modelType, architecture: architecture)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ropeBase, forKey: .ropeBase)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encode(GatedMLP.Activation.silu.rawValue, forKey: .hiddenActivation)
        if let s = llama3Scaling {
            try c.encode(
                RopeParameters(
                    ropeType: "llama3", factor: s.factor, lowFreqFactor: s.lowFrequencyFactor,
                    highFreqFactor: s.highFrequencyFactor, originalMaxPositionEmbeddings: s.originalContext), forKey: .ropeScaling)
        }
        if let w = slidingWindow {
            try c.encode(w, forKey: .slidingWindow)
            try c.encode(true, forKey: .useSlidingWindow)
        }
        try c.encodeIfPresent(bosTokenID, forKey: .bosTokenID)
        try c.encodeIfPresent(eosTokenID, forKey: .eosTokenID)
    }
}

extension LlamaConfig {
    public func resized(heads: Int, intermediateSize: Int) -> Self {
        var c = self
        (c.heads, c.intermediateSize) = (heads, intermediateSize)
        return c
    }
}
