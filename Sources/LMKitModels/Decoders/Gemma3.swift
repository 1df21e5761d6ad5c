// Gemma 3 (Gemma Team 2025, "Gemma 3 Technical Report"), the text decoder. Mirrors Hugging Face
// transformers `models/gemma3/modeling_gemma3.py` (Gemma3ForCausalLM): embeddings scaled by √width;
// per layer an RMS-normed attention block with query/key RMS norms, rotary positions (base 1e6 on
// global layers, 10,000 on sliding-window layers), grouped-query attention, and norms after the
// attention and the GeGLU feed-forward block too; interleaved local (sliding window) and global
// layers; the output matrix tied to the embeddings. Gemma's RMS norms scale by (1 + w).
// Parameter names are the Hugging Face keys; GGUF files are mapped onto them (Gemma3+GGUF.swift).
import Foundation
import LMKitNN
import LMKitTensor

/// Gemma 3's text configuration (`Gemma3TextConfig`).
public struct Gemma3Config: Sendable, Equatable {
    public var vocabularySize = 262_144
    public var width = 640
    public var layers = 18
    public var heads = 4
    public var kvHeads = 1
    public var headSize = 256
    public var intermediateSize = 2048
    public var rmsNormEpsilon = 1e-6
    /// Rotary base of the global (full-attention) layers.
    public var ropeBase = 1_000_000.0
    /// Rotary base of the sliding-window layers.
    public var ropeLocalBase = 10_000.0
    public var slidingWindow = 512
    /// Whether each layer attends globally (the others see the last `slidingWindow` positions).
    public var globalLayers: [Bool] = (0..<18).map { ($0 + 1) % 6 == 0 }
    /// Queries are scaled by queryPreAttentionScalar^(−1/2).
    public var queryPreAttentionScalar = 256.0
    public var contextLength = 32_768
    public var bosTokenID: Int? = 2
    public var eosTokenID: Int? = 1

    public init() {}

    public func validate() throws(ModelError) {
        guard vocabularySize > 0, width > 0, layers > 0, heads > 0, kvHeads > 0, headSize > 0, intermediateSize > 0 else {
            throw ModelError("Gemma 3 config: sizes must be positive")
        }
        guard heads % kvHeads == 0 else { throw ModelError("Gemma 3 config: \(heads) query heads are not a multiple of \(kvHeads) key/value heads") }
        guard globalLayers.count == layers else { throw ModelError("Gemma 3 config: \(globalLayers.count) layer types for \(layers) layers") }
        guard headSize % 2 == 0, slidingWindow > 0, queryPreAttentionScalar > 0 else {
            throw ModelError("Gemma 3 config: head size must be even, sliding window and query scalar positive")
        }
    }
}

/// One Gemma 3 decoder layer: norms before and after both the attention and the feed-forward block.
public final class Gemma3Layer: Module {
    public let inputNorm: RMSNorm, postAttentionNorm: RMSNorm, preFeedForwardNorm: RMSNorm, postFeedForwardNorm: RMSNorm
    public let attention: DecoderAttention
    public let mlp: GatedFeedForward

    init(_ c: Gemma3Config, index: Int, randomInit: Bool, quantized: [String: QuantizedMatrix], generator g: inout RandomGenerator) {
        let isGlobal = c.globalLayers[index]
        func norm(_ n: Int) -> RMSNorm { RMSNorm(n, eps: c.rmsNormEpsilon, weightOffset: 1) }
        inputNorm = norm(c.width); postAttentionNorm = norm(c.width)
        preFeedForwardNorm = norm(c.width); postFeedForwardNorm = norm(c.width)
        let p = DecoderProjections(layer: index, quantized: quantized, randomInit: randomInit)
        attention = DecoderAttention(width: c.width, heads: c.heads, kvHeads: c.kvHeads, headSize: c.headSize,
                                     rotary: RotaryEmbedding(headSize: c.headSize, base: isGlobal ? c.ropeBase : c.ropeLocalBase),
                                     bias: false, headNorm: norm, window: isGlobal ? nil : c.slidingWindow,
                                     scale: 1 / c.queryPreAttentionScalar.squareRoot(), projections: p, generator: &g)
        mlp = GatedFeedForward(width: c.width, hidden: c.intermediateSize, gate: .geluTanh, projections: p, generator: &g)
        super.init()
        register("input_layernorm", inputNorm)
        register("self_attn", attention)
        register("post_attention_layernorm", postAttentionNorm)
        register("pre_feedforward_layernorm", preFeedForwardNorm)
        register("mlp", mlp)
        register("post_feedforward_layernorm", postFeedForwardNorm)
    }

    /// `x: [B, T, C]` at positions `start ..< start + T` → `[B, T, C]`.
    func callAsFunction(_ x: Tensor, start: Int, cache: KVCache?, layer: Int) -> Tensor {
        let r = x + postAttentionNorm(attention(inputNorm(x), start: start, cache: cache, layer: layer))
        return r + postFeedForwardNorm(mlp(preFeedForwardNorm(r)))
    }
}

/// Gemma 3's text decoder with its tied output layer (`Gemma3ForCausalLM`).
public final class Gemma3ForCausalLM: Module {
    public let config: Gemma3Config
    /// The token embeddings (also the output matrix), as float32 parameters…
    public let embedding: Embedding?
    /// …or kept quantized.
    public let quantizedEmbedding: QuantizedMatrix?
    public let layers: [Gemma3Layer]
    public let norm: RMSNorm
    /// The weights kept quantized, by Hugging Face name (empty for a float32 model).
    public let quantized: [String: QuantizedMatrix]

    /// A model with random weights (`seed`), or zeros when a checkpoint is loaded right after. The
    /// matrices in `quantized` (Hugging Face names) stay quantized and are not parameters.
    public init(_ config: Gemma3Config, seed: UInt64 = 0, randomInit: Bool = true,
                quantized: [String: QuantizedMatrix] = [:]) throws(ModelError) {
        try config.validate()
        self.config = config
        self.quantized = quantized
        var g = RandomGenerator(seed: seed)
        quantizedEmbedding = quantized["model.embed_tokens.weight"]
        if quantizedEmbedding != nil {
            embedding = nil
        } else {
            embedding = randomInit ? Embedding(config.vocabularySize, config.width, generator: &g)
                : Embedding(weight: .zeros([config.vocabularySize, config.width]))
        }
        layers = (0..<config.layers).map { Gemma3Layer(config, index: $0, randomInit: randomInit, quantized: quantized, generator: &g) }
        norm = RMSNorm(config.width, eps: config.rmsNormEpsilon, weightOffset: 1)
        super.init()
        if let embedding { register(embedding, atPath: "model.embed_tokens") }
        for (i, layer) in layers.enumerated() { register(layer, atPath: "model.layers.\(i)") }
        register(norm, atPath: "model.norm")
    }

    /// The final hidden states `[B, T, C]` of ids `[B, T]` that continue what `cache` holds.
    public func hiddenStates(_ ids: Tensor, cache: KVCache? = nil) -> Tensor {
        precondition(ids.rank == 2, "ids must be [batch, length], got \(ids.shape)")
        let start = cache?.length ?? 0
        // √width rounded to float32 first, as transformers does.
        let tokens = quantizedEmbedding.map { $0.rows(ids.indexValues).reshaped(ids.shape + [config.width]) } ?? embedding!(ids)
        var x = tokens * Double(Float(Double(config.width).squareRoot()))
        for (i, layer) in layers.enumerated() { x = layer(x, start: start, cache: cache, layer: i) }
        return norm(x)
    }

    /// Logits `[B, T, vocab]` (the tied embedding matrix as output layer).
    public func callAsFunction(_ ids: Tensor, cache: KVCache? = nil) -> Tensor { output(hiddenStates(ids, cache: cache)) }

    /// The tied output layer on hidden states `[…, C]` → `[…, vocab]`.
    func output(_ h: Tensor) -> Tensor {
        if let quantizedEmbedding { return quantizedEmbedding.linear(h) }
        return Tensor.linear(h, weight: embedding!.weight.value, bias: nil)
    }

    /// Every weight as float32 by Hugging Face name: the parameters and the quantized matrices expanded.
    public func floatWeights() -> [String: Tensor] {
        var out = stateDict()
        for (name, m) in quantized { out[name] = m.dequantized() }
        return out
    }
}

extension Gemma3ForCausalLM: QuantizedDecoder {
    public var contextLength: Int { config.contextLength }
    public var vocabularySize: Int { config.vocabularySize }
    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor { self(ids, cache: cache as? KVCache) }
    public func lastLogits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let h = promptHiddenStates(ids, cache: cache as? KVCache, hiddenStates)
        return output(h.selected(axis: 1, index: h.shape[1] - 1))                                  // (B, vocab)
    }
    public func makeDecodingCache() -> any DecodingCache { KVCache(layers: config.layers) }
    public func summedNLL(_ ids: [Int], targets: [Int]) -> (sum: Double, count: Int) {
        GradMode.withoutGradient { chunkedNLL(hidden: hiddenStates(Tensor(indices: ids, shape: [1, ids.count])), targets: targets, output: output) }
    }
    public func loss(_ ids: Tensor, targets: Tensor) -> Tensor { self(ids).crossEntropy(targets: targets) }
}
