// Task heads on a BERT-family encoder, named as Hugging Face names them, so `*ForSequenceClassification`
// and `*ForMaskedLM` checkpoints load and save both ways:
//   BERT:       bert.* + classifier            | bert.* (no pooler) + cls.predictions.{transform.dense, transform.LayerNorm, bias}
//   DistilBERT: distilbert.* + pre_classifier + classifier | distilbert.* + vocab_transform, vocab_layer_norm, vocab_projector.bias
// The masked-LM decoder matrix is the word-embedding matrix (tied weights).
import LMKitNN
import LMKitTensor

/// `*ForSequenceClassification`: BERT classifies its pooled `[CLS]` vector; DistilBERT passes the
/// `[CLS]` hidden state through `pre_classifier` and ReLU first. Logits `[B, labels]`.
public final class SequenceClassificationModel: Module {
    public private(set) var config: EncoderConfig
    /// The encoder (`bert.*` / `distilbert.*`); BERT's keeps its pooler for the head.
    public let encoder: TransformerEncoder
    /// DistilBERT's dense layer on the `[CLS]` state before the classifier (`pre_classifier`); nil for BERT.
    public let preClassifier: Linear?
    /// Final layer from width to one logit per label (`classifier`).
    public let classifier: Linear
    let dropout: Dropout

    /// A model with a new, randomly initialized head for `labels` (names by class id); with
    /// `randomInit` false every weight starts at zero (for a checkpoint to replace).
    public init(_ config: EncoderConfig, labels: [String], seed: UInt64 = 0, randomInit: Bool = true) throws(ModelError) {
        guard labels.count >= 2 else { throw ModelError("a classifier needs at least two labels, got \(labels)") }
        guard Set(labels).count == labels.count else { throw ModelError("labels must be distinct: \(labels)") }
        var c = config
        c.labels = labels
        self.config = c
        encoder = try TransformerEncoder(c, pooler: c.family == .bert, seed: seed, randomInit: randomInit)
        var i = EncoderInit(random: randomInit, std: c.initializerRange, seed: seed &+ 0x5EED)
        preClassifier = c.family == .distilbert ? i.linear(c.width, c.width) : nil
        classifier = i.linear(c.width, labels.count)
        dropout = Dropout(c.classifierDropout, seed: i.generator.next())
        super.init()
        register(c.family.prefix, encoder)
        if let preClassifier { register("pre_classifier", preClassifier) }
        register("classifier", classifier)
        register("dropout", dropout)
    }

    /// Label names by class id (`id2label`), one per logit.
    public var labels: [String] { config.labels }

    /// `ids`, `typeIDs`, `attentionMask`: `[B, T]` → logits `[B, labels]`.
    public func callAsFunction(_ ids: Tensor, typeIDs: Tensor? = nil, attentionMask: Tensor? = nil) -> Tensor {
        logits(encoder(ids, typeIDs: typeIDs, attentionMask: attentionMask).lastHiddenState)
    }

    /// The head alone, on the encoder's last hidden state `[B, T, C]`.
    public func logits(_ lastHiddenState: Tensor) -> Tensor {
        head(lastHiddenState.selected(axis: 1, index: 0))
    }

    /// The head on the `[CLS]` hidden states `[B, C]`: BERT's pooler (dense, tanh) or DistilBERT's
    /// pre-classifier (dense, ReLU), dropout, then the classifier.
    public func head(_ cls: Tensor) -> Tensor {
        let pooled = if let preClassifier { preClassifier(cls).relu() } else { encoder.pooler!(cls).tanh() }
        return classifier(dropout(pooled))
    }

    /// The parameters of ``head(_:)`` (what the frozen-encoder baseline trains): the classifier, and
    /// DistilBERT's pre-classifier or BERT's pooler.
    public var headParameters: [Parameter] {
        var out = classifier.parameters
        if let preClassifier { out += preClassifier.parameters }
        if let pooler = encoder.pooler { out += pooler.parameters }
        return out
    }
}

/// `*ForMaskedLM`: a transform (dense, activation, LayerNorm) on every hidden state, then the tied
/// word-embedding matrix and an output bias. Logits `[B, T, vocabulary]`.
public final class MaskedLanguageModel: Module {
    /// The configuration the model was built from.
    public let config: EncoderConfig
    /// The encoder, without a pooler (`bert.*` / `distilbert.*`); its word embedding is also the output matrix.
    public let encoder: TransformerEncoder
    /// Dense layer on every hidden state (`cls.predictions.transform.dense` / `vocab_transform`).
    public let transform: Linear
    /// LayerNorm after the activation (`cls.predictions.transform.LayerNorm` / `vocab_layer_norm`).
    public let transformNorm: LayerNorm
    /// Per-token bias `[vocabulary]` added to the logits (`cls.predictions.bias` / `vocab_projector.bias`).
    public let outputBias: Parameter

    /// A model with a new masked-LM head; with `randomInit` false every weight starts at zero (for a checkpoint to replace).
    public init(_ config: EncoderConfig, seed: UInt64 = 0, randomInit: Bool = true) throws(ModelError) {
        self.config = config
        encoder = try TransformerEncoder(config, pooler: false, seed: seed, randomInit: randomInit)
        var i = EncoderInit(random: randomInit, std: config.initializerRange, seed: seed &+ 0x5EED)
        transform = i.linear(config.width, config.width)
        transformNorm = LayerNorm(config.width, eps: config.layerNormEpsilon)
        outputBias = Parameter(.zeros([config.vocabSize]))
        super.init()
        register(config.family.prefix, encoder)
        switch config.family {
        case .bert:
            register(transform, atPath: "cls.predictions.transform.dense")
            register(transformNorm, atPath: "cls.predictions.transform.LayerNorm")
            register(outputBias, atPath: "cls.predictions.bias")
        case .distilbert:
            register("vocab_transform", transform)
            register("vocab_layer_norm", transformNorm)
            register(outputBias, atPath: "vocab_projector.bias")
        }
    }

    /// `ids`, `typeIDs`, `attentionMask`: `[B, T]` → logits `[B, T, vocabulary]`.
    public func callAsFunction(_ ids: Tensor, typeIDs: Tensor? = nil, attentionMask: Tensor? = nil) -> Tensor {
        logits(encoder(ids, typeIDs: typeIDs, attentionMask: attentionMask).lastHiddenState)
    }

    /// The head alone, on the encoder's last hidden state `[B, T, C]`.
    public func logits(_ lastHiddenState: Tensor) -> Tensor {
        let h = transform(lastHiddenState)
        let activated =
            switch config.activation {
            case "relu": h.relu()
            case "gelu": h.gelu(approximate: false)
            default: h.gelu(approximate: true)
            }
        return Tensor.linear(transformNorm(activated), weight: encoder.embeddings.word.weight.value, bias: outputBias.value)
    }
}
