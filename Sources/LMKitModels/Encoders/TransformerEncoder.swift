// The bidirectional transformer encoder of BERT and DistilBERT: token (+ position, + segment)
// embeddings, then post-norm layers `LN(x + attn(x))`, `LN(h + ffn(h))` where every token attends to
// every other non-padding token. Mirrors Hugging Face transformers `modeling_bert.py` (BertModel)
// and `modeling_distilbert.py` (DistilBertModel); parameter names are their checkpoint keys.
import LMKitNN
import LMKitTensor

/// Where each weight sits in a family's checkpoint.
struct EncoderNaming {
    let layers: String
    let query: String, key: String, value: String, attentionOutput: String, attentionNorm: String
    let feedForwardIn: String, feedForwardOut: String, outputNorm: String

    static func of(_ family: EncoderConfig.Family) -> EncoderNaming {
        switch family {
        case .bert:
            EncoderNaming(
                layers: "encoder.layer", query: "attention.self.query", key: "attention.self.key",
                value: "attention.self.value", attentionOutput: "attention.output.dense",
                attentionNorm: "attention.output.LayerNorm", feedForwardIn: "intermediate.dense",
                feedForwardOut: "output.dense", outputNorm: "output.LayerNorm")
        case .distilbert:
            EncoderNaming(
                layers: "transformer.layer", query: "attention.q_lin", key: "attention.k_lin",
                value: "attention.v_lin", attentionOutput: "attention.out_lin", attentionNorm: "sa_layer_norm",
                feedForwardIn: "ffn.lin1", feedForwardOut: "ffn.lin2", outputNorm: "output_layer_norm")
        }
    }
}

/// Token + learned position (+ token type) embeddings, layer-normalized.
public final class EncoderEmbeddings: Module {
    /// Token embedding `[vocabulary, C]` (`word_embeddings`), also the masked-LM output matrix.
    public let word: Embedding
    /// Learned position embedding `[maxPositions, C]` (`position_embeddings`).
    public let position: Embedding
    /// Segment embedding `[typeVocabularySize, C]` (`token_type_embeddings`); nil for DistilBERT.
    public let tokenType: Embedding?
    /// LayerNorm over the summed embeddings (`LayerNorm`).
    public let norm: LayerNorm
    let dropout: Dropout

    init(_ c: EncoderConfig, initializer i: inout EncoderInit) {
        word = i.embedding(c.vocabSize, c.width)
        position = i.embedding(c.maxPositions, c.width)
        tokenType = c.typeVocabularySize > 0 ? i.embedding(c.typeVocabularySize, c.width) : nil
        norm = LayerNorm(c.width, eps: c.layerNormEpsilon)
        dropout = Dropout(c.hiddenDropout, seed: i.generator.next())
        super.init()
        register("word_embeddings", word)
        register("position_embeddings", position)
        if let tokenType { register("token_type_embeddings", tokenType) }
        register("LayerNorm", norm)
        register("dropout", dropout)
    }

    /// `ids: [B, T]` (and `typeIDs: [B, T]`, zeros when nil) → `[B, T, C]`.
    func callAsFunction(_ ids: Tensor, typeIDs: Tensor?) -> Tensor {
        let t = ids.shape[1]
        var x = word(ids) + position(Tensor(indices: Array(0..<t), shape: [t]))  // (B, T, C)
        if let tokenType {
            x = x + tokenType(typeIDs ?? Tensor(indices: [Int](repeating: 0, count: t), shape: [t]))
        }
        return dropout(norm(x))
    }
}

/// One post-norm encoder layer: multi-head self-attention then a feed-forward block, each followed
/// by a residual connection and LayerNorm.
public final class EncoderLayer: Module {
    /// The query, key and value projections and the attention output projection, each `[C, C]` with a bias.
    public let query: Linear, key: Linear, value: Linear, attentionOutput: Linear
    /// LayerNorm after the attention residual (`attention.output.LayerNorm` / `sa_layer_norm`).
    public let attentionNorm: LayerNorm
    /// Feed-forward layers, width → `intermediateSize` → width (`intermediate.dense`, `output.dense` / `ffn.lin1`, `ffn.lin2`).
    public let feedForwardIn: Linear, feedForwardOut: Linear
    /// LayerNorm after the feed-forward residual (`output.LayerNorm` / `output_layer_norm`).
    public let outputNorm: LayerNorm
    let heads: Int
    let activation: String
    let attentionDropout: Dropout, outputDropout: Dropout

    init(_ c: EncoderConfig, naming n: EncoderNaming, initializer i: inout EncoderInit) {
        query = i.linear(c.width, c.width)
        key = i.linear(c.width, c.width)
        value = i.linear(c.width, c.width)
        attentionOutput = i.linear(c.width, c.width)
        attentionNorm = LayerNorm(c.width, eps: c.layerNormEpsilon)
        feedForwardIn = i.linear(c.width, c.intermediateSize)
        feedForwardOut = i.linear(c.intermediateSize, c.width)
        outputNorm = LayerNorm(c.width, eps: c.layerNormEpsilon)
        heads = c.heads
        activation = c.activation
        attentionDropout = Dropout(c.hiddenDropout, seed: i.generator.next())
        outputDropout = Dropout(c.hiddenDropout, seed: i.generator.next())
        super.init()
        register(query, atPath: n.query)
        register(key, atPath: n.key)
        register(value, atPath: n.value)
        register(attentionOutput, atPath: n.attentionOutput)
        register(attentionNorm, atPath: n.attentionNorm)
        register(feedForwardIn, atPath: n.feedForwardIn)
        register(feedForwardOut, atPath: n.feedForwardOut)
        register(outputNorm, atPath: n.outputNorm)
        register("attention_dropout", attentionDropout)
        register("output_dropout", outputDropout)
    }

    /// `x: [B, T, C]`, `mask`: additive `[B, 1, 1, T]` → `[B, T, C]`, and the attention
    /// probabilities `[B, H, T, T]` when asked for.
    func callAsFunction(_ x: Tensor, mask: Tensor?, wantWeights: Bool) -> (Tensor, Tensor?) {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let hs = c / heads
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, hs]).transposed(1, 2) }  // (B, H, T, hs)
        let q = split(query(x)), k = split(key(x)), v = split(value(x))
        var weights: Tensor?
        let y: Tensor
        if wantWeights {
            (y, weights) = Tensor.scaledDotProductAttentionWithWeights(query: q, key: k, value: v, mask: mask)
        } else {
            y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
        }
        let attended = attentionOutput(y.transposed(1, 2).reshaped([b, t, c]))  // (B, T, C)
        let h = attentionNorm(x + attentionDropout(attended))
        let inner = feedForwardIn(h)
        let activated =
            switch activation {
            case "relu": inner.relu()
            case "gelu": inner.gelu(approximate: false)
            default: inner.gelu(approximate: true)
            }
        return (outputNorm(h + outputDropout(feedForwardOut(activated))), weights)
    }
}

/// What an encoder computes for a batch.
public struct EncoderOutput {
    /// `[B, T, C]`: the last layer's output.
    public var lastHiddenState: Tensor
    /// The embedding output then every layer's (`layers + 1` tensors of `[B, T, C]`), when asked for.
    public var hiddenStates: [Tensor]
    /// Every layer's attention probabilities `[B, H, T, T]`, when asked for.
    public var attentions: [Tensor]
}

/// A BERT or DistilBERT encoder (`BertModel`, `DistilBertModel`), with BERT's optional pooler
/// (`tanh(W·h[CLS] + b)`).
public final class TransformerEncoder: Module {
    /// The configuration the encoder was built from.
    public let config: EncoderConfig
    /// Word, position and token-type embeddings with their LayerNorm (`embeddings.*`).
    public let embeddings: EncoderEmbeddings
    /// The `config.layers` encoder layers, in order (`encoder.layer.N` / `transformer.layer.N`).
    public let layers: [EncoderLayer]
    /// BERT's pooler, a dense layer on the `[CLS]` state (`pooler.dense`); nil without one (always for DistilBERT).
    public let pooler: Linear?

    /// A new encoder: weights drawn as Hugging Face initializes them with `randomInit`, else zeros
    /// (for loading a checkpoint right after, without drawing millions of numbers first).
    public init(_ config: EncoderConfig, pooler: Bool? = nil, seed: UInt64 = 0, randomInit: Bool = true) throws(ModelError) {
        try config.validate()
        self.config = config
        var i = EncoderInit(random: randomInit, std: config.initializerRange, seed: seed)
        embeddings = EncoderEmbeddings(config, initializer: &i)
        let naming = EncoderNaming.of(config.family)
        layers = (0..<config.layers).map { _ in EncoderLayer(config, naming: naming, initializer: &i) }
        let withPooler = pooler ?? (config.family == .bert)
        precondition(!withPooler || config.family == .bert, "only BERT has a pooler")
        self.pooler = withPooler ? i.linear(config.width, config.width) : nil
        super.init()
        register("embeddings", embeddings)
        for (i, layer) in layers.enumerated() { register(layer, atPath: "\(naming.layers).\(i)") }
        if let p = self.pooler { register(p, atPath: "pooler.dense") }
    }

    /// Encodes `ids: [B, T]`; `attentionMask: [B, T]` is 1 for real tokens and 0 for padding
    /// (nil: no padding); `typeIDs: [B, T]` are segment ids (BERT only; nil: all 0).
    public func callAsFunction(
        _ ids: Tensor, typeIDs: Tensor? = nil, attentionMask: Tensor? = nil,
        outputHiddenStates: Bool = false, outputAttentions: Bool = false
    ) -> EncoderOutput {
        precondition(ids.rank == 2, "encoder input ids must be [batch, length], got \(ids.shape)")
        precondition(ids.shape[1] <= config.maxPositions, "sequence of \(ids.shape[1]) tokens exceeds the \(config.maxPositions) positions")
        let mask = attentionMask.map { Tensor.attentionMask(padding: $0, dtype: embeddings.word.weight.value.dtype) }
        var x = embeddings(ids, typeIDs: typeIDs)
        var output = EncoderOutput(lastHiddenState: x, hiddenStates: outputHiddenStates ? [x] : [], attentions: [])
        for layer in layers {
            let (y, weights) = layer(x, mask: mask, wantWeights: outputAttentions)
            x = y
            if outputHiddenStates { output.hiddenStates.append(x) }
            if let weights { output.attentions.append(weights) }
        }
        output.lastHiddenState = x
        return output
    }

    /// BERT's pooled output `tanh(W·h[CLS] + b)`: `[B, T, C]` → `[B, C]`.
    public func pooled(_ lastHiddenState: Tensor) -> Tensor {
        guard let pooler else { preconditionFailure("this encoder has no pooler") }
        return pooler(lastHiddenState.selected(axis: 1, index: 0)).tanh()
    }
}

/// Hugging Face's initialization of new BERT weights (`_init_weights`): N(0, initializer_range)
/// for matrices and embeddings, zero biases (LayerNorm starts at weight 1, bias 0). With `random`
/// false every matrix starts at zero instead, for weights that a checkpoint replaces at once.
struct EncoderInit {
    let random: Bool
    let std: Double
    var generator: RandomGenerator

    init(random: Bool, std: Double, seed: UInt64) {
        self.random = random
        self.std = std
        generator = RandomGenerator(seed: seed)
    }

    mutating func matrix(_ shape: [Int]) -> Tensor {
        random ? .randomNormal(shape, std: std, generator: &generator) : .zeros(shape)
    }

    mutating func linear(_ inputs: Int, _ outputs: Int) -> Linear {
        Linear(weight: matrix([outputs, inputs]), bias: .zeros([outputs]))
    }

    mutating func embedding(_ count: Int, _ width: Int) -> Embedding { Embedding(weight: matrix([count, width])) }
}
