// The decoder-only transformer every family here shares (nanoGPT's `GPT`, transformers'
// `LlamaForCausalLM` / `Gemma3ForCausalLM`): token embeddings → decoder layers → final RMS norm →
// output layer (its own `lm_head`, or the embedding matrix when tied). A family (``DecoderFamily``)
// supplies the configuration and the options of each layer; weights may stay quantized in their
// GGUF blocks. Parameter names are the Hugging Face keys.
import LMKitNN
import LMKitTensor

/// A decoder-only language model of one ``DecoderFamily`` (``LlamaForCausalLM``, ``Gemma3ForCausalLM``).
public final class CausalDecoder<Family: DecoderFamily>: Module {
    /// The family's configuration the model was built from (sizes, rotary settings, each layer's options).
    public let config: Family
    /// `model.embed_tokens` (float parameters, or quantized).
    public let embedding: any TokenEmbedding
    /// `model.layers.N`.
    public let layers: [DecoderLayer]
    /// `model.norm`.
    public let norm: RMSNorm
    /// `lm_head`; nil when the output layer is tied to the embeddings.
    public let lmHead: (any Module & LinearMap)?
    /// The weights kept quantized, by Hugging Face name (empty for a float32 model).
    public let quantized: [String: QuantizedMatrix]
    /// Recompute each layer's activations in backward instead of keeping them (``GradientCheckpointing``).
    public var gradientCheckpointing = false

    /// A model with random weights (`seed`), or zeros when a checkpoint is loaded right after. The
    /// matrices in `quantized` (Hugging Face names) stay quantized and are not parameters; one the
    /// model has no place for is an error.
    public init(_ config: Family, seed: UInt64 = 0, randomInit: Bool = true, quantized: [String: QuantizedMatrix] = [:]) throws(ModelError)
    {
        try config.validate()
        self.config = config
        self.quantized = quantized
        let b = WeightBuilder(randomInit ? .random(seed: seed) : .zeros, quantized: quantized)
        let m = b.prefixed("model")
        embedding = m.embedding("embed_tokens", config.vocabSize, config.width)
        layers = (0..<config.layers).map { i in m.module("layers.\(i)") { DecoderLayer(config.layer(i), $0) } }
        norm = m.rmsNorm("norm", config.width, eps: config.rmsNormEpsilon, weightOffset: config.normWeightOffset)
        lmHead = config.tieWordEmbeddings ? nil : b.linear("lm_head", config.width, config.vocabSize)
        let problems = b.problems
        guard problems.isEmpty else {
            throw ModelError("the \(Family.displayName) weights do not fit: \(problems.joined(separator: "; "))")
        }
        super.init()
        register(builtBy: b)
    }

    /// The final hidden states `[B, T, C]` of ids `[B, T]` that continue what `cache` holds.
    ///
    /// `padding`: a `[B, keys]` 0/1 mask (1 = a real token) over every key the queries see (cached
    /// positions, then these), for batches of sequences of different lengths.
    public func hiddenStates(_ ids: Tensor, padding: Tensor? = nil, cache: KVCache? = nil) -> Tensor {
        precondition(ids.rank == 2, "ids must be [batch, length], got \(ids.shape)")
        let start = cache?.length ?? 0
        var x = embedding(ids)  // (B, T, C)
        if let scale = config.embeddingScale { x = x * scale }
        let mask = padding.map { p in
            precondition(
                p.shape == [ids.shape[0], start + ids.shape[1]],
                "padding \(p.shape) must be [batch, cached + new] = \([ids.shape[0], start + ids.shape[1]])")
            return Tensor.attentionMask(padding: p, dtype: x.dtype)  // (B, 1, 1, keys)
        }
        for (i, layer) in layers.enumerated() {
            if gradientCheckpointing, cache == nil {
                x = layer.checkpointed(x) { layer($0, start: start, mask: mask, cache: nil, layer: i) }
            } else {
                x = layer(x, start: start, mask: mask, cache: cache, layer: i)
            }
        }
        return norm(x)
    }

    /// Logits `[B, T, vocab]` of hidden states `[B, T, C]`.
    public func output(_ h: Tensor) -> Tensor { lmHead?(h) ?? embedding.logits(h) }

    /// Logits `[B, T, vocab]` of ids `[B, T]` (see ``hiddenStates(_:padding:cache:)``).
    public func callAsFunction(_ ids: Tensor, padding: Tensor? = nil, cache: KVCache? = nil) -> Tensor {
        output(hiddenStates(ids, padding: padding, cache: cache))
    }

    /// Every weight as float32 by Hugging Face name: the parameters and the quantized matrices expanded.
    public func floatWeights() -> [String: Tensor] {
        var out = stateDict()
        for (name, m) in quantized { out[name] = m.dequantized() }
        return out
    }
}

extension CausalDecoder: GradientCheckpointing {}

extension CausalDecoder: QuantizedDecoder {
    /// Longest sequence the model attends over (`max_position_embeddings`).
    public var contextLength: Int { config.contextLength }
    /// Rows of the embedding table, and logits per position (`vocab_size`).
    public var vocabSize: Int { config.vocabSize }
    /// Logits `[B, T, vocab]` of ids `[B, T]` that continue `cache` (a ``KVCache`` from ``makeDecodingCache()``, or nil).
    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor { self(ids, cache: KVCache.required(cache, by: self)) }
    /// Logits `[B, vocab]` of the last position only: a long prompt fills the cache ``promptChunkTokens`` at a
    /// time, and the output layer runs on one position.
    public func lastLogits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let h = promptHiddenStates(ids, cache: KVCache.required(cache, by: self)) { hiddenStates($0, cache: $1) }
        return output(h.selected(axis: 1, index: h.shape[1] - 1))  // (B, vocab)
    }
    /// An empty ``KVCache`` with one slot per decoder layer.
    public func makeDecodingCache() -> any DecodingCache { KVCache(layers: config.layers) }
    /// Summed negative log-likelihood of `targets` (−100: not scored) and how many were scored, without
    /// gradient; the output layer runs on a few positions at a time, so all the logits are never in memory.
    public func summedNLL(_ ids: [Int], targets: [Int]) -> (sum: Double, count: Int) {
        GradMode.withoutGradient {
            chunkedNLL(hidden: hiddenStates(Tensor(indices: ids, shape: [1, ids.count])), targets: targets, output: output)
        }
    }
    /// One pass through the layers; the output layer runs on the positions asked for.
    public func logProbabilities(_ ids: [Int]) -> (Range<Int>) -> Tensor {
        let h = GradMode.withoutGradient { hiddenStates(Tensor(indices: ids, shape: [1, ids.count])).reshaped([ids.count, config.width]) }
        return { range in GradMode.withoutGradient { self.output(h.sliced(axis: 0, range: range).contiguous()).logSoftmax() } }
    }
    /// Mean next-token cross-entropy of ids `[B, T]` against `targets` `[B, T]` (−100: not scored).
    /// The output layer and the cross-entropy run fused, a few rows at a time
    /// (``Tensor/linearCrossEntropy(_:_:targets:ignoreIndex:chunkRows:)``): the logits of the whole
    /// batch (1 MB per position for Gemma 3) are never all in memory.
    public func loss(_ ids: Tensor, targets: Tensor) -> Tensor {
        let h = hiddenStates(ids)  // (B, T, C)
        guard let matrix = fusedOutputMatrix, h.dtype == .float32 else { return output(h).crossEntropy(targets: targets) }
        return Tensor.linearCrossEntropy(h.reshaped([-1, config.width]), matrix, targets: targets.indexValues)
    }

    /// The output layer as one matrix, when nothing else is in it (no bias, no adapter).
    public var fusedOutputMatrix: OutputMatrix? {
        switch lmHead {
        case let head as Linear where head.bias == nil && head.adapter == nil: return .float(head.weight.value)
        case let head as QuantizedLinear where head.bias == nil && head.adapter == nil: return .quantized(head.matrix)
        case nil:
            if let e = embedding as? Embedding { return .float(e.weight.value) }
            if let e = embedding as? QuantizedEmbedding { return .quantized(e.matrix) }
            return nil
        default: return nil
        }
    }
}
