// GPT-2: "Language Models are Unsupervised Multitask Learners", Radford et al. 2019.
// Mirrors Hugging Face transformers `models/gpt2/modeling_gpt2.py` (GPT2LMHeadModel) and
// nanoGPT `model.py`: token + position embeddings, pre-norm blocks of causal multi-head
// self-attention and a GELU MLP, a final LayerNorm and an LM head tied to the token embedding.
// Parameter names are the Hugging Face keys, so a checkpoint moves both ways.
import Foundation
import LMKitNN
import LMKitTensor

/// GPT-2's configuration; the coding keys are `config.json`'s.
public struct GPT2Config: Codable, Sendable, Equatable {
    /// Number of token ids (`vocab_size`; 50,257 for GPT-2's byte-level BPE).
    public var vocabSize = 50257
    /// Longest sequence (learned positions).
    public var contextLength = 1024
    /// Width of each token vector (`n_embd`).
    public var width = 768
    /// Transformer blocks (`n_layer`).
    public var layers = 12
    /// Attention heads per block (`n_head`); must divide `width`.
    public var heads = 12
    /// Added to the variance in every LayerNorm (`layer_norm_epsilon`).
    public var layerNormEpsilon = 1e-5
    /// "gelu_new" (tanh approximation, GPT-2's) or "gelu" (exact).
    public var activation = "gelu_new"
    /// Dropout on each attention and MLP output before it joins the residual stream (`resid_pdrop`).
    public var residualDropout = 0.1
    /// Dropout on the summed token and position embeddings (`embd_pdrop`).
    public var embeddingDropout = 0.1
    /// Dropout on the attention probabilities (`attn_pdrop`); read and saved, but LMKit's attention does not apply it.
    public var attentionDropout = 0.1
    /// Whether the LM head reuses the token embedding (`tie_word_embeddings`, GPT-2's way); without it
    /// the model has an `lm_head` matrix of its own.
    public var tieWordEmbeddings = true
    /// Width of the MLP's hidden layer; nil: 4 × width.
    public var innerWidth: Int? = nil
    /// GPT-2 variants Hugging Face can express that LMKit does not implement (checked in `validate`).
    public var scaleAttentionWeights = true
    /// Whether scores are also divided by the layer index + 1 (`scale_attn_by_inverse_layer_idx`); must be false.
    public var scaleAttentionByInverseLayerIndex = false
    /// Mixed-precision attention in float32 (`reorder_and_upcast_attn`); read and saved, not checked or applied.
    public var reorderAndUpcastAttention = false
    /// Beginning-of-sequence token id (`bos_token_id`; GPT-2's `<|endoftext|>`, 50256).
    public var bosTokenID: Int? = 50256
    /// End-of-sequence token id (`eos_token_id`; GPT-2's `<|endoftext|>`, 50256).
    public var eosTokenID: Int? = 50256
    /// Must be "gpt2" (`model_type`).
    public var modelType = "gpt2"
    /// Hugging Face model classes the checkpoint is for (`architectures`).
    public var architectures: [String]? = ["GPT2LMHeadModel"]

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "n_positions", width = "n_embd", layers = "n_layer", heads = "n_head"
        case layerNormEpsilon = "layer_norm_epsilon", activation = "activation_function"
        case residualDropout = "resid_pdrop", embeddingDropout = "embd_pdrop", attentionDropout = "attn_pdrop"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
        case modelType = "model_type", architectures, innerWidth = "n_inner"
        case scaleAttentionWeights = "scale_attn_weights", scaleAttentionByInverseLayerIndex = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttention = "reorder_and_upcast_attn"
    }

    /// A configuration built in code; `dropout` sets the residual, embedding and attention dropout alike.
    public init(
        vocabSize: Int = 50257, contextLength: Int = 1024, width: Int = 768, layers: Int = 12, heads: Int = 12,
        dropout: Double = 0.1
    ) {
        self.vocabSize = vocabSize; self.contextLength = contextLength; self.width = width
        self.layers = layers; self.heads = heads
        residualDropout = dropout; embeddingDropout = dropout; attentionDropout = dropout
    }

    /// Missing keys take Hugging Face's defaults (config files written by other tools omit some).
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GPT2Config()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? d.contextLength
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        layerNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? d.activation
        residualDropout = try c.decodeIfPresent(Double.self, forKey: .residualDropout) ?? d.residualDropout
        embeddingDropout = try c.decodeIfPresent(Double.self, forKey: .embeddingDropout) ?? d.embeddingDropout
        attentionDropout = try c.decodeIfPresent(Double.self, forKey: .attentionDropout) ?? d.attentionDropout
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "gpt2"
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        innerWidth = try c.decodeIfPresent(Int.self, forKey: .innerWidth)
        scaleAttentionWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionWeights) ?? true
        scaleAttentionByInverseLayerIndex = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionByInverseLayerIndex) ?? false
        reorderAndUpcastAttention = try c.decodeIfPresent(Bool.self, forKey: .reorderAndUpcastAttention) ?? false
    }

    /// Checks the numbers a model can be built from.
    public func validate() throws(ModelError) {
        guard vocabSize > 0, contextLength > 0, width > 0, layers > 0, heads > 0 else {
            throw ModelError("config: vocab_size, n_positions, n_embd, n_layer and n_head must be positive")
        }
        guard width % heads == 0 else { throw ModelError("config: n_embd \(width) is not a multiple of n_head \(heads)") }
        guard ["gelu_new", "gelu", "gelu_pytorch_tanh"].contains(activation) else {
            throw ModelError("config: activation_function \"\(activation)\" is not supported (gelu_new, gelu_pytorch_tanh, gelu)")
        }
        guard modelType == "gpt2" else { throw ModelError("config: model_type \"\(modelType)\" is not gpt2") }
        guard scaleAttentionWeights, !scaleAttentionByInverseLayerIndex else {
            throw ModelError("config: scale_attn_weights false or scale_attn_by_inverse_layer_idx true is not supported")
        }
        if let innerWidth, innerWidth <= 0 { throw ModelError("config: n_inner must be positive") }
    }
}

/// One transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))` (pre-norm).
public final class GPT2Block: Module {
    /// LayerNorm before attention (`ln_1`).
    public let ln1: LayerNorm
    /// Causal multi-head self-attention (`attn.c_attn`, `attn.c_proj`).
    public let attn: CausalSelfAttention
    /// LayerNorm before the MLP (`ln_2`).
    public let ln2: LayerNorm
    /// GELU feed-forward block, width → inner width (default 4 × width) → width (`mlp.c_fc`, `mlp.c_proj`).
    public let mlp: MLP
    let mlpDropout: Dropout

    init(_ c: GPT2Config, generator: inout RandomGenerator) {
        ln1 = LayerNorm(c.width, eps: c.layerNormEpsilon)
        attn = CausalSelfAttention(width: c.width, heads: c.heads, dropout: c.residualDropout, generator: &generator)
        ln2 = LayerNorm(c.width, eps: c.layerNormEpsilon)
        mlp = MLP(width: c.width, hidden: c.innerWidth ?? 4 * c.width, approximateGELU: c.activation != "gelu", generator: &generator)
        mlpDropout = Dropout(c.residualDropout, seed: generator.next())
        super.init()
        register("ln_1", ln1)
        register("attn", attn)
        register("ln_2", ln2)
        register("mlp", mlp)
        register("mlp_dropout", mlpDropout)
    }

    /// `x: [B, T, C]` → `[B, T, C]`.
    func callAsFunction(_ x: Tensor, cache: KVCache?, layer: Int) -> Tensor {
        let h = x + attn(ln1(x), cache: cache, layer: layer)  // (B, T, C)
        return h + mlpDropout(mlp(ln2(h)))  // (B, T, C)
    }
}

/// The embeddings, blocks and final norm: Hugging Face's `GPT2Model`, named `transformer` in the LM.
public final class GPT2Transformer: Module {
    /// Token embedding `[vocab, width]` (`wte`), also the tied LM head.
    public let wte: Embedding
    /// Learned position embedding `[contextLength, width]` (`wpe`).
    public let wpe: Embedding
    /// The `layers` transformer blocks, in order (`h.0`, `h.1`, …).
    public let blocks: [GPT2Block]
    /// Final LayerNorm before the LM head (`ln_f`).
    public let lnF: LayerNorm
    let embeddingDropout: Dropout

    init(_ c: GPT2Config, generator: inout RandomGenerator) {
        wte = Embedding(c.vocabSize, c.width, generator: &generator)
        wpe = Embedding(c.contextLength, c.width, generator: &generator)
        blocks = (0..<c.layers).map { _ in GPT2Block(c, generator: &generator) }
        lnF = LayerNorm(c.width, eps: c.layerNormEpsilon)
        embeddingDropout = Dropout(c.embeddingDropout, seed: generator.next())
        super.init()
        register("wte", wte)
        register("wpe", wpe)
        register("drop", embeddingDropout)
        register("h", list: blocks)
        register("ln_f", lnF)
    }
}

/// GPT-2 with its language-model head (Hugging Face `GPT2LMHeadModel`).
///
/// ```swift
/// let model = try GPT2LMHeadModel(folder: "gpt2")        // config.json + model.safetensors
/// let logits = model(Tensor(indices: ids, shape: [1, ids.count]))   // [1, T, 50257]
/// ```
public final class GPT2LMHeadModel: Module {
    /// The configuration the model was built from.
    public let config: GPT2Config
    /// Embeddings, blocks and final norm (`transformer.*` keys); the LM head is its `wte` when tied.
    public let transformer: GPT2Transformer
    /// The untied LM head `[vocab, width]` (`lm_head`; nil when tied to `wte`).
    public let lmHead: Linear?
    /// Recompute each block's activations in backward instead of keeping them (``GradientCheckpointing``).
    public var gradientCheckpointing = false

    /// A freshly initialized model (GPT-2's initialization: normal(0, 0.02) weights, residual
    /// projections scaled by 1/√(2·layers), zero biases).
    public init(_ config: GPT2Config, seed: UInt64 = 0) throws(ModelError) {
        try config.validate()
        self.config = config
        var g = RandomGenerator(seed: seed)
        transformer = GPT2Transformer(config, generator: &g)
        lmHead = config.tieWordEmbeddings ? nil : Linear(config.width, config.vocabSize, bias: false, generator: &g)
        super.init()
        register("transformer", transformer)
        if let lmHead { register("lm_head", lmHead) }
        initializeWeights(generator: &g)
    }

    private func initializeWeights(generator g: inout RandomGenerator) {
        let residualStd = 0.02 / (2 * Double(config.layers)).squareRoot()
        for (name, p) in namedParameters() {
            if name.hasSuffix(".bias") {
                p.assign(Tensor.zeros(p.value.shape))
            } else if name.contains("ln_") {
                p.assign(Tensor.ones(p.value.shape))
            } else {
                let std = name.hasSuffix("c_proj.weight") ? residualStd : 0.02
                p.assign(Tensor.randomNormal(p.value.shape, std: std, generator: &g))
            }
        }
    }

    /// Logits `[B, T, vocab]` for token ids `[B, T]`. With a cache, the ids continue the cached
    /// positions and their keys/values are added to it.
    public func callAsFunction(_ ids: Tensor, cache: KVCache? = nil) -> Tensor {
        head(hiddenStates(ids, cache: cache))
    }

    /// The last hidden states `[B, T, width]` (after the final LayerNorm) for token ids `[B, T]`.
    public func hiddenStates(_ ids: Tensor, cache: KVCache? = nil) -> Tensor {
        precondition(ids.rank == 2, "GPT-2 takes ids [B, T], got \(ids.shape)")
        let t = ids.shape[1]
        let start = cache?.length ?? 0
        precondition(start + t <= config.contextLength, "sequence of \(start + t) positions exceeds the context of \(config.contextLength)")
        let positions = Tensor(indices: Array(start..<(start + t)), shape: [t])
        var x = transformer.wte(ids) + transformer.wpe(positions)  // (B, T, C)
        x = transformer.embeddingDropout(x)
        for (l, block) in transformer.blocks.enumerated() {
            if gradientCheckpointing, cache == nil {
                x = block.checkpointed(x) { block($0, cache: nil, layer: l) }
            } else {
                x = block(x, cache: cache, layer: l)
            }
        }
        return transformer.lnF(x)  // (B, T, C)
    }

    /// The LM head: hidden states `[B, T, width]` → logits `[B, T, vocab]`.
    public func head(_ x: Tensor) -> Tensor {
        if let lmHead { return lmHead(x) }  // (B, T, V)
        // Tied head: logits = x · wteᵀ
        let (b, t) = (x.shape[0], x.shape[1])
        return x.reshaped([b * t, config.width]).matmul(transformer.wte.weight.value.transposed())
            .reshaped([b, t, config.vocabSize])  // (B, T, V)
    }

    /// Mean cross-entropy of next-token prediction: `logits(ids)` against `targets` `[B, T]`.
    public func loss(_ ids: Tensor, targets: Tensor) -> Tensor {
        self(ids).crossEntropy(targets: targets)
    }

    /// A new cache for generation.
    public func makeCache() -> KVCache { KVCache(layers: config.layers) }
}
