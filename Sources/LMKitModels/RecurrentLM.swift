// A recurrent language model: embedding → multi-layer RNN/LSTM/GRU → linear head (Karpathy's
// char-rnn; Zaremba et al. 2014, "Recurrent Neural Network Regularization" for dropout between
// layers). Weight names are PyTorch's for `nn.Embedding` (`embedding`), `nn.RNN/LSTM/GRU` (`rnn`)
// and `nn.Linear` (`head`), so the state dict loads into the same three PyTorch modules.
import Foundation
import LMKitNN
import LMKitTensor

/// The recurrent model's configuration (`config.json`, `model_type` "lmkit_recurrent").
public struct RecurrentLMConfig: Codable, Sendable, Equatable {
    public var cell: RecurrentCell
    public var vocabSize: Int
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var dropout: Double
    /// Sequence length it was trained on (perplexity windows; generation restarts its state beyond it).
    public var contextLength: Int
    /// LSTM forget-gate bias at initialization (nil: PyTorch's uniform initialization).
    public var forgetBias: Double?
    public var modelType = "lmkit_recurrent"

    enum CodingKeys: String, CodingKey {
        case cell, vocabSize = "vocab_size", embeddingSize = "embedding_size", hiddenSize = "hidden_size", layers, dropout
        case contextLength = "context_length", forgetBias = "forget_bias", modelType = "model_type"
    }

    public init(
        cell: RecurrentCell, vocabSize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int, dropout: Double = 0,
        contextLength: Int = 256, forgetBias: Double? = nil
    ) {
        self.cell = cell; self.vocabSize = vocabSize; self.embeddingSize = embeddingSize; self.hiddenSize = hiddenSize
        self.layers = layers; self.dropout = dropout; self.contextLength = contextLength; self.forgetBias = forgetBias
    }

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
    public var state: Recurrent.State?
    public private(set) var length = 0
    public init() {}
    public func advance(by n: Int) { length += n }
    public func reset() { state = nil; length = 0 }
}

/// Embedding, recurrent layers, dropout, and a linear head over the vocabulary.
public final class RecurrentLanguageModel: Module, CausalLanguageModel {
    public let config: RecurrentLMConfig
    public let embedding: Embedding
    public let rnn: Recurrent
    public let head: Linear
    let outputDropout: Dropout

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

    public var contextLength: Int { config.contextLength }
    public var vocabSize: Int { config.vocabSize }

    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let c = RecurrentCache.required(cache, by: self)
        let (logits, state) = self(ids, state: c?.state)
        c?.state = state
        c?.advance(by: ids.shape[1])
        return logits
    }

    public func makeDecodingCache() -> any DecodingCache { RecurrentCache() }

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
