// Configuration of the BERT-family encoders: BERT (Devlin et al. 2019, "BERT: Pre-training of Deep
// Bidirectional Transformers for Language Understanding") and DistilBERT (Sanh et al. 2019).
// Read from and written to Hugging Face `config.json` files through `Codable`; the two families
// spell the same numbers differently (`hidden_size` / `dim`, `num_hidden_layers` / `n_layers`, …),
// so each has its coding keys.
import Foundation

/// An encoder's `config.json`, for `model_type` "bert" or "distilbert".
public struct EncoderConfig: Sendable, Equatable {
    /// The two checkpoint layouts LMKit reads.
    public enum Family: String, Sendable, CaseIterable {
        case bert, distilbert
        /// The attribute name of the encoder inside a task model (`bert.encoder.layer.0…`).
        public var prefix: String { rawValue }
    }

    /// Checkpoint layout, BERT or DistilBERT (`model_type`).
    public var family: Family
    /// Number of token ids in the word embedding (`vocab_size`).
    public var vocabSize: Int
    /// Width of each token vector (`hidden_size`; DistilBERT `dim`).
    public var width: Int
    /// Encoder layers (`num_hidden_layers`; DistilBERT `n_layers`).
    public var layers: Int
    /// Attention heads per layer (`num_attention_heads`; DistilBERT `n_heads`); must divide `width`.
    public var heads: Int
    /// Width of the feed-forward layer.
    public var intermediateSize: Int
    /// "gelu" (exact, erf), "gelu_new"/"gelu_pytorch_tanh" (tanh form) or "relu".
    public var activation: String
    /// Dropout on the embeddings and on each sublayer's output before its residual (`hidden_dropout_prob`; DistilBERT `dropout`).
    public var hiddenDropout: Double
    /// Dropout on the attention probabilities (`attention_probs_dropout_prob`; DistilBERT `attention_dropout`); saved, not applied.
    public var attentionDropout: Double
    /// Dropout before the classification head (`classifier_dropout`, or `seq_classif_dropout`).
    public var classifierDropout: Double
    /// Rows of the learned position embedding: the longest input (`max_position_embeddings`, default 512).
    public var maxPositions: Int
    /// Token types (segment A/B); 0 for DistilBERT, which has none.
    public var typeVocabularySize: Int
    /// Added to the variance in every LayerNorm (`layer_norm_eps`, default 1e-12; DistilBERT has no key and uses 1e-12).
    public var layerNormEpsilon: Double
    /// Id of the padding token (`pad_token_id`, default 0); kept for saving, the encoder masks padding by `attentionMask`.
    public var padTokenID: Int
    /// Standard deviation of the normal initialization of new weights (`initializer_range`, default 0.02).
    public var initializerRange: Double
    /// Label names by class id (`id2label`); empty for a model without a classification head.
    public var labels: [String]
    /// Hugging Face model classes the checkpoint was saved from (`architectures`); empty when absent.
    public var architectures: [String]
    /// The file's own JSON, kept so that saving preserves the keys LMKit does not use.
    public var original: Data?

    /// A configuration built in code (tests, from-scratch models).
    public init(
        family: Family, vocabSize: Int, width: Int, layers: Int, heads: Int, intermediateSize: Int,
        maxPositions: Int = 512, typeVocabularySize: Int? = nil, activation: String = "gelu",
        dropout: Double = 0.1, labels: [String] = []
    ) {
        self.family = family
        self.vocabSize = vocabSize
        self.width = width
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.activation = activation
        hiddenDropout = dropout
        attentionDropout = dropout
        classifierDropout = family == .distilbert ? 0.2 : dropout
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize ?? (family == .bert ? 2 : 0)
        layerNormEpsilon = 1e-12
        padTokenID = 0
        initializerRange = 0.02
        self.labels = labels
        architectures = []
        original = nil
    }

    /// Parses a `config.json`; `source` names the file in errors, which name the key at fault.
    public init(json data: Data, source: String = "config.json") throws(ModelError) {
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch let error as DecodingError {
            throw ModelError(decoding: error, source: source)
        } catch { throw ModelError("\(source): \(error)") }
        original = data
        try validate(source: source)
    }

    /// Checks the numbers a model can be built from.
    public func validate(source: String = "config") throws(ModelError) {
        guard vocabSize > 0, width > 0, layers > 0, heads > 0, intermediateSize > 0, maxPositions > 0 else {
            throw ModelError("\(source): sizes (vocabulary, width, layers, heads, intermediate, positions) must be positive")
        }
        guard width % heads == 0 else { throw ModelError("\(source): width \(width) is not a multiple of the \(heads) heads") }
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"].contains(activation) else {
            throw ModelError("\(source): activation \"\(activation)\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
        for p in [hiddenDropout, attentionDropout, classifierDropout] where !(p >= 0 && p < 1) {
            throw ModelError("\(source): dropout \(p) is outside [0, 1)")
        }
    }

    /// The task model names `transformers` gives this family (`BertForSequenceClassification`, …).
    public func architecture(_ task: String) -> String {
        (family == .bert ? "Bert" : "DistilBert") + task
    }

    /// The `config.json` to save: the original file's keys, with the architecture and labels set.
    public func json(architecture: String) -> Data {
        let encoded = (try? JSONEncoder().encode(self)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any] ?? [:]
        var root = (original.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? encoded
        root["architectures"] = [architecture]
        root[family == .bert ? "num_hidden_layers" : "n_layers"] = layers  // a student of fewer layers keeps the rest
        if labels.isEmpty {
            root.removeValue(forKey: "id2label"); root.removeValue(forKey: "label2id")
        } else {
            root["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
            root["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
            root["problem_type"] = "single_label_classification"
        }
        root.removeValue(forKey: "_name_or_path")
        return (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }
}

extension EncoderConfig: Codable {
    /// BERT's `config.json` keys.
    enum BertKeys: String, CodingKey {
        case width = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads", intermediateSize = "intermediate_size"
        case activation = "hidden_act", hiddenDropout = "hidden_dropout_prob", attentionDropout = "attention_probs_dropout_prob"
        case classifierDropout = "classifier_dropout", typeVocabularySize = "type_vocab_size", layerNormEpsilon = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type", isDecoder = "is_decoder", addCrossAttention = "add_cross_attention"
    }

    /// DistilBERT's spellings of the same numbers.
    enum DistilBertKeys: String, CodingKey {
        case width = "dim", layers = "n_layers", heads = "n_heads", intermediateSize = "hidden_dim", activation
        case hiddenDropout = "dropout", attentionDropout = "attention_dropout", classifierDropout = "seq_classif_dropout"
        case sinusoidalPositions = "sinusoidal_pos_embds"
    }

    /// Keys both families have.
    enum CommonKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", maxPositions = "max_position_embeddings", padTokenID = "pad_token_id"
        case initializerRange = "initializer_range", architectures, id2label
    }

    /// Missing keys take transformers' defaults; a key of the wrong type, or a variant LMKit does not
    /// run (relative positions, BERT as a decoder, sinusoidal DistilBERT positions), is an error naming it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CommonKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .modelType) ?? ""
        guard let family = Family(rawValue: type) else {
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: c, debugDescription: "\"\(type)\" is not an encoder LMKit reads (bert, distilbert)")
        }
        self.init(family: family, vocabSize: try c.decodeInteger(required: .vocabSize), width: 0, layers: 0, heads: 0, intermediateSize: 0)
        maxPositions = try c.decodeInteger(forKey: .maxPositions) ?? 512
        padTokenID = try c.decodeInteger(forKey: .padTokenID) ?? 0
        initializerRange = try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? 0.02
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        switch family {
        case .bert:
            let b = try decoder.container(keyedBy: BertKeys.self)
            width = try b.decodeInteger(required: .width)
            layers = try b.decodeInteger(required: .layers)
            heads = try b.decodeInteger(required: .heads)
            intermediateSize = try b.decodeInteger(required: .intermediateSize)
            activation = try b.decodeIfPresent(String.self, forKey: .activation) ?? "gelu"
            hiddenDropout = try b.decodeIfPresent(Double.self, forKey: .hiddenDropout) ?? 0.1
            attentionDropout = try b.decodeIfPresent(Double.self, forKey: .attentionDropout) ?? 0.1
            classifierDropout = try b.decodeIfPresent(Double.self, forKey: .classifierDropout) ?? hiddenDropout
            typeVocabularySize = try b.decodeInteger(forKey: .typeVocabularySize) ?? 2
            layerNormEpsilon = try b.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? 1e-12
            let positions = try b.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
            guard positions == "absolute" else {
                throw DecodingError.dataCorruptedError(
                    forKey: .positionEmbeddingType, in: b, debugDescription: "\"\(positions)\" is not supported (absolute)")
            }
            for key in [BertKeys.isDecoder, .addCrossAttention] {
                guard try b.decodeIfPresent(Bool.self, forKey: key) == true else { continue }
                throw DecodingError.dataCorruptedError(forKey: key, in: b, debugDescription: "BERT as a decoder is not supported")
            }
        case .distilbert:
            let d = try decoder.container(keyedBy: DistilBertKeys.self)
            width = try d.decodeInteger(required: .width)
            layers = try d.decodeInteger(required: .layers)
            heads = try d.decodeInteger(required: .heads)
            intermediateSize = try d.decodeInteger(required: .intermediateSize)
            activation = try d.decodeIfPresent(String.self, forKey: .activation) ?? "gelu"
            hiddenDropout = try d.decodeIfPresent(Double.self, forKey: .hiddenDropout) ?? 0.1
            attentionDropout = try d.decodeIfPresent(Double.self, forKey: .attentionDropout) ?? 0.1
            classifierDropout = try d.decodeIfPresent(Double.self, forKey: .classifierDropout) ?? 0.2
            if try d.decodeIfPresent(Bool.self, forKey: .sinusoidalPositions) == true {
                throw DecodingError.dataCorruptedError(
                    forKey: .sinusoidalPositions, in: d, debugDescription: "sinusoidal position embeddings are not supported")
            }
        }
        if let map = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            var byID: [Int: String] = [:]
            for (k, v) in map {
                guard let id = Int(k) else {
                    throw DecodingError.dataCorruptedError(forKey: .id2label, in: c, debugDescription: "key \"\(k)\" is not an integer")
                }
                byID[id] = v
            }
            guard Set(byID.keys) == Set(0..<byID.count) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .id2label, in: c, debugDescription: "ids must be 0…\(byID.count - 1), got \(byID.keys.sorted())")
            }
            labels = (0..<byID.count).map { byID[$0]! }
        }
    }

    /// The keys transformers needs for a configuration built in code.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CommonKeys.self)
        try c.encode(family.rawValue, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(maxPositions, forKey: .maxPositions)
        try c.encode(padTokenID, forKey: .padTokenID)
        try c.encode(initializerRange, forKey: .initializerRange)
        switch family {
        case .bert:
            var b = encoder.container(keyedBy: BertKeys.self)
            try b.encode(width, forKey: .width)
            try b.encode(layers, forKey: .layers)
            try b.encode(heads, forKey: .heads)
            try b.encode(intermediateSize, forKey: .intermediateSize)
            try b.encode(activation, forKey: .activation)
            try b.encode(hiddenDropout, forKey: .hiddenDropout)
            try b.encode(attentionDropout, forKey: .attentionDropout)
            try b.encode(classifierDropout, forKey: .classifierDropout)
            try b.encode(typeVocabularySize, forKey: .typeVocabularySize)
            try b.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
            try b.encode("absolute", forKey: .positionEmbeddingType)
        case .distilbert:
            var d = encoder.container(keyedBy: DistilBertKeys.self)
            try d.encode(width, forKey: .width)
            try d.encode(layers, forKey: .layers)
            try d.encode(heads, forKey: .heads)
            try d.encode(intermediateSize, forKey: .intermediateSize)
            try d.encode(activation, forKey: .activation)
            try d.encode(hiddenDropout, forKey: .hiddenDropout)
            try d.encode(attentionDropout, forKey: .attentionDropout)
            try d.encode(classifierDropout, forKey: .classifierDropout)
            try d.encode(false, forKey: .sinusoidalPositions)
        }
    }
}
