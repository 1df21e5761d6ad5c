// Configuration of the BERT-family encoders: BERT (Devlin et al. 2019, "BERT: Pre-training of Deep
// Bidirectional Transformers for Language Understanding") and DistilBERT (Sanh et al. 2019).
// Read from and written to Hugging Face `config.json` files; the two families spell the same
// numbers differently (`hidden_size` / `dim`, `num_hidden_layers` / `n_layers`, …).
import Foundation

/// An encoder's `config.json`, for `model_type` "bert" or "distilbert".
public struct EncoderConfig: Sendable, Equatable {
    /// The two checkpoint layouts LMKit reads.
    public enum Family: String, Sendable, CaseIterable {
        case bert, distilbert
        /// The attribute name of the encoder inside a task model (`bert.encoder.layer.0…`).
        public var prefix: String { rawValue }
    }

    public var family: Family
    public var vocabSize: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    /// Width of the feed-forward layer.
    public var intermediateSize: Int
    /// "gelu" (exact, erf), "gelu_new"/"gelu_pytorch_tanh" (tanh form) or "relu".
    public var activation: String
    public var hiddenDropout: Double
    public var attentionDropout: Double
    /// Dropout before the classification head (`classifier_dropout`, or `seq_classif_dropout`).
    public var classifierDropout: Double
    public var maxPositions: Int
    /// Token types (segment A/B); 0 for DistilBERT, which has none.
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Double
    public var padTokenID: Int
    public var initializerRange: Double
    /// Label names by class id (`id2label`); empty for a model without a classification head.
    public var labels: [String]
    public var architectures: [String]
    /// The file's own JSON, kept so that saving preserves the keys LMKit does not use.
    public var original: Data?

    /// A configuration built in code (tests, from-scratch models).
    public init(family: Family, vocabSize: Int, width: Int, layers: Int, heads: Int, intermediateSize: Int,
                maxPositions: Int = 512, typeVocabularySize: Int? = nil, activation: String = "gelu",
                dropout: Double = 0.1, labels: [String] = []) {
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

    /// Parses a `config.json`; `source` names the file in errors.
    public init(json data: Data, source: String = "config.json") throws(ModelError) {
        let json = try ConfigJSON(data, source: source)
        let root = json.root
        let type = try json.string("model_type", "")
        guard let family = Family(rawValue: type) else {
            throw ModelError("\(source): model_type \"\(type)\" is not an encoder LMKit reads (bert, distilbert)")
        }
        self.family = family
        vocabSize = try json.int("vocab_size")
        maxPositions = try json.int("max_position_embeddings", 512)
        padTokenID = try json.int("pad_token_id", 0)
        initializerRange = try json.double("initializer_range", 0.02)
        switch family {
        case .bert:
            width = try json.int("hidden_size")
            layers = try json.int("num_hidden_layers")
            heads = try json.int("num_attention_heads")
            intermediateSize = try json.int("intermediate_size")
            activation = try json.string("hidden_act", "gelu")
            hiddenDropout = try json.double("hidden_dropout_prob", 0.1)
            attentionDropout = try json.double("attention_probs_dropout_prob", 0.1)
            classifierDropout = try json.double("classifier_dropout", hiddenDropout)
            typeVocabularySize = try json.int("type_vocab_size", 2)
            layerNormEpsilon = try json.double("layer_norm_eps", 1e-12)
            let positions = try json.string("position_embedding_type", "absolute")
            guard positions == "absolute" else {
                throw ModelError("\(source): position_embedding_type \"\(positions)\" is not supported (absolute)")
            }
            if root["is_decoder"] as? Bool == true || root["add_cross_attention"] as? Bool == true {
                throw ModelError("\(source): BERT as a decoder (is_decoder, add_cross_attention) is not supported")
            }
        case .distilbert:
            width = try json.int("dim")
            layers = try json.int("n_layers")
            heads = try json.int("n_heads")
            intermediateSize = try json.int("hidden_dim")
            activation = try json.string("activation", "gelu")
            hiddenDropout = try json.double("dropout", 0.1)
            attentionDropout = try json.double("attention_dropout", 0.1)
            classifierDropout = try json.double("seq_classif_dropout", 0.2)
            typeVocabularySize = 0
            layerNormEpsilon = 1e-12
        }
        architectures = root["architectures"] as? [String] ?? []
        labels = []
        if let map = root["id2label"] as? [String: String] {
            var byID: [Int: String] = [:]
            for (k, v) in map {
                guard let id = Int(k) else { throw ModelError("\(source): id2label key \"\(k)\" is not an integer") }
                byID[id] = v
            }
            guard Set(byID.keys) == Set(0..<byID.count) else {
                throw ModelError("\(source): id2label ids must be 0…\(byID.count - 1), got \(byID.keys.sorted())")
            }
            labels = (0..<byID.count).map { byID[$0]! }
        }
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
        var root = (original.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? fresh()
        root["architectures"] = [architecture]
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

    /// The keys `transformers` needs for a configuration built in code.
    private func fresh() -> [String: Any] {
        var root: [String: Any] = ["model_type": family.rawValue, "vocab_size": vocabSize,
                                   "max_position_embeddings": maxPositions, "pad_token_id": padTokenID,
                                   "initializer_range": initializerRange]
        switch family {
        case .bert:
            root.merge(["hidden_size": width, "num_hidden_layers": layers, "num_attention_heads": heads,
                        "intermediate_size": intermediateSize, "hidden_act": activation,
                        "hidden_dropout_prob": hiddenDropout, "attention_probs_dropout_prob": attentionDropout,
                        "classifier_dropout": classifierDropout, "type_vocab_size": typeVocabularySize,
                        "layer_norm_eps": layerNormEpsilon, "position_embedding_type": "absolute"]) { $1 }
        case .distilbert:
            root.merge(["dim": width, "n_layers": layers, "n_heads": heads, "hidden_dim": intermediateSize,
                        "activation": activation, "dropout": hiddenDropout, "attention_dropout": attentionDropout,
                        "seq_classif_dropout": classifierDropout, "sinusoidal_pos_embds": false]) { $1 }
        }
        return root
    }
}
