// A recurrent language model: embedding → multi-layer RNN/LSTM/GRU → linear head (Karpathy's
// char-rnn; Zaremba et al. 2014, "Recurrent Neural Network Regularization" for dropout between
// layers). Weight names are PyTorch's for `nn.Embedding` (`embedding`), `nn.RNN/LSTM/GRU` (`rnn`)
// and `nn.Linear` (`head`), so the state dict loads into the same three PyTorch modules.
import Foundation
import LMKitNN
import LMKitTensor

/// The recurrent model's configuration (`config.json`, `model_type` "lmkit_recurrent").
public struct RecurrentLMConfig: Codable, Sendable, Equatable {
    /// Kind of recurrent layer: "rnn", "lstm" or "gru" (`cell`).
    public var cell: RecurrentCell
    /// Number of token ids, embedded and predicted (`vocab_size`).
    public var vocabSize: Int
    /// Width of each token's embedding, the first recurrent layer's input (`embedding_size`).
    public var embeddingSize: Int
    /// Width of every layer's hidden state (`hidden_size`).
    public var hiddenSize: Int
    /// Stacked recurrent layers (`layers`).
    public var layers: Int
    /// Dropout probability between recurrent layers and before the head, in [0, 1) (`dropout`).
    public var dropout: Double
    /// Sequence length it was trained on (perplexity windows; generation restarts its state beyond it).
    public var contextLength: Int
    /// LSTM forget-gate bias at initialization (nil: PyTorch's uniform initialization).
    public var forgetBias: Double?
    /// Always "lmkit_recurrent" (`model_type`); ``validate()`` rejects anything else.
    public var modelType = "lmkit_recurrent"

    enum CodingKeys: String, CodingKey {
        case cell, vocabSize = "vocab_size", embeddingSize = "embedding_size", hiddenSize = "hidden_size", layers, dropout
        case contextLength = "context_length", forgetBias = "forget_bias", modelType = "model_type"
    }

    /// A configuration built in code; by default no dropout, a 256-token context and PyTorch's initialization.
    public init(
        cell: RecurrentCell, vocabSize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int, dropout: Double = 0,
        contextLength: Int = 256, forgetBias: Double? = nil
    ) {
        self.cell = cell; self.vocabSize = vocabSize; self.embeddingSize = embeddingSize; self.hiddenSize = hiddenSize
        self.layers = layers; self.dropout = dropout; self.contextLength = contextLength; self.forgetBias = forgetBias
    }

    /// Checks the numbers a model can be built from, the dropout range and `model_type`.
    public func validate() throws(ModelError) {
        guard vocabSize > 0, embeddingSize > 0, hiddenSize > 0, layers > 0, contextLength > 1 else {
            throw ModelError("config: vocab_size, embedding_size, hidden_size, layers must be positive and context_length above 1")
        }
        guard dropout >= 0 && dropout < 1 else { throw ModelError("config: dropout \(dropout) must be in [0, 1)") }
        guard modelType == "lmkit_recurrent" else { throw ModelError("config: model_type \"\(modelType)\" is not lmkit_recurrent") }
    }
}

/// The recurrent state between generation steps.
public final class RecurrentCache: DecodingCache {
    /// Every layer's hidden (and LSTM cell) state after the positions seen; nil before the first step.
    public var state: Recurrent.State?
    public private(set) var length = 0
    /// An empty cache: no state, length 0.
    public init() {}
    /// Counts `n` more positions as seen (the model sets ``state`` itself).
    public func advance(by n: Int) { length += n }
    /// Drops the state and sets the length back to 0.
    public func reset() { state = nil; length = 0 }
}

/// Embedding, recurrent layers, dropout, and a linear head over the vocabulary.
public final class RecurrentLanguageModel: Module, CausalLanguageModel {
    /// The configuration the model was built from.
    public let config: RecurrentLMConfig
    /// Token embedding `[vocab, embeddingSize]` (`embedding.weight`).
    public let embedding: Embedding
    /// The stacked RNN/LSTM/GRU layers (`rnn.weight_ih_l0`, …).
    public let rnn: Recurrent
    /// Output layer from the last hidden state to logits over the vocabulary (`head`).
    public let head: Linear
    let outputDropout: Dropout

    /// A freshly initialized model (PyTorch's initialization, drawn from `seed`); throws for an invalid configuration.
    public init(_ config: RecurrentLMConfig, seed: UInt64 = 0) throws(ModelError) {
        try config.validate()
        self.config = config
        var g = RandomGenerator(seed: seed)
        embedding = Embedding(config.vocabSize, config.embeddingSize, generator: &g)
        rnn = Recurrent(
            config.cell, inputSize: config.embeddingSize, hiddenSize: config.hiddenSize, layers: config.layers,
            dropout: config.dropout, forgetBias: config.forgetBias, generator: &g)
        head = Linear(config.hiddenSize, config.vocabSize, generator: &g)
        outputDropout = Dropout(config.dropout, seed: g.next())
        super.init()
        register("embedding", embedding)
        register("rnn", rnn)
        register("dropout", outputDropout)
        register("head", head)
    }

    /// Logits `[B, T, vocab]` for ids `[B, T]` starting from `state` (zeros when nil), and the state after.
    public func callAsFunction(_ ids: Tensor, state: Recurrent.State? = nil) -> (logits: Tensor, state: Recurrent.State) {
        let x = embedding(ids)  // (B, T, E)
        let (y, s) = rnn(x, state: state)  // (B, T, H)
        return (head(outputDropout(y)), s)  // (B, T, V)
    }

    /// Sequence length the model was trained on (`context_length`).
    public var contextLength: Int { config.contextLength }
    /// Number of token ids the model predicts (`vocab_size`).
    public var vocabSize: Int { config.vocabSize }

    /// Logits `[B, T, vocab]` for ids `[B, T]`; with a ``RecurrentCache`` they continue its state, which then moves on.
    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let c = RecurrentCache.required(cache, by: self)
        let (logits, state) = self(ids, state: c?.state)
        c?.state = state
        c?.advance(by: ids.shape[1])
        return logits
    }

    /// A new, empty ``RecurrentCache``.
    public func makeDecodingCache() -> any DecodingCache { RecurrentCache() }

    /// Mean next-token cross-entropy of `ids` `[B, T]` against `targets` `[B, T]`, from a zero state.
    public func loss(_ ids: Tensor, targets: Tensor) -> Tensor { self(ids).logits.crossEntropy(targets: targets) }

    /// Writes `config.json` and `model.safetensors` (PyTorch names), atomically.
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(config)), to: (folder as NSString).appendingPathComponent("config.json"))
        try save(to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }

    /// Loads a folder written by ``save(folder:)``; strict about every key and shape.
    public convenience init(folder: String) throws {
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath) else { throw ModelError("\(configPath): cannot read the file") }
        let config: RecurrentLMConfig
        do { config = try JSONDecoder().decode(RecurrentLMConfig.self, from: data) } catch {
            throw ModelError("\(configPath): not a recurrent model config (\(error))")
        }
        try self.init(config)
        do { try load(try ModelFolder.tensors(in: folder)) } catch { throw ModelError("\(folder): \(error)") }
    }
}
