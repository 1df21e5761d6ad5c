import Foundation
import LMKitNN
import LMKitTensor

/// A family of decoder-only models that ``CausalDecoder`` runs (Llama, Gemma 3, …): its
/// configuration, read from `config.json` (coding keys are its keys) or from a GGUF file's metadata,
/// and the few facts in which the families differ. Adding a family is writing one of these; see
/// `Sources/LMKitModels/README.md`.
public protocol DecoderFamily: Codable, Sendable, Equatable {
    /// The family's name in messages ("Gemma 3").
    static var displayName: String { get }
    /// The `model_type` values of `config.json` files this family reads.
    static var modelTypes: [String] { get }
    /// The `general.architecture` values of GGUF files this family reads.
    static var ggufArchitectures: [String] { get }
    /// GGUF tensor name suffix within a layer (`attn_q.weight`) → Hugging Face suffix (`self_attn.q_proj.weight`).
    static var ggufLayerNames: [(gguf: String, hf: String)] { get }

    var vocabSize: Int { get }
    var width: Int { get }
    var layers: Int { get }
    var contextLength: Int { get }
    var rmsNormEpsilon: Double { get }
    var tieWordEmbeddings: Bool { get }
    var bosTokenID: Int? { get }
    var eosTokenID: Int? { get }
    /// What the token embeddings are multiplied by (Gemma: √width), nil: nothing.
    var embeddingScale: Double? { get }
    /// 1 for norms that scale by (1 + w) (Gemma), else 0.
    var normWeightOffset: Double { get }
    /// Layer `index`'s attention, MLP and norms.
    func layer(_ index: Int) -> DecoderLayer.Options
    /// Checks the numbers a model can be built from.
    func validate() throws(ModelError)
    /// The same configuration with `heads` query heads and an MLP `intermediateSize` wide
    /// (structured pruning); every other size stays.
    func resized(heads: Int, intermediateSize: Int) -> Self

    /// The configuration in a GGUF file's metadata.
    init(gguf file: GGUFFile) throws(ModelError)
    /// A tensor read from a GGUF file as the Hugging Face tensor `key` (Gemma's norms are stored as 1 + w).
    func fromGGUF(_ tensor: Tensor, key: String) -> Tensor
    /// A matrix read from a GGUF file as the Hugging Face matrix `key` (llama.cpp permutes Llama's query and key rows).
    func fromGGUF(_ matrix: QuantizedMatrix, key: String) -> QuantizedMatrix

    /// The `general.architecture` and hyperparameter metadata of a GGUF file of this configuration,
    /// as llama.cpp reads them; an error when llama.cpp would build a different model from it.
    func ggufMetadata() throws(ModelError) -> [(key: String, value: GGUFValue)]
    /// The float32 Hugging Face tensor `key` as a GGUF file stores it (the inverse of ``fromGGUF(_:key:)-(Tensor,_)``).
    func toGGUF(_ tensor: Tensor, key: String) -> Tensor
    /// Tensors a GGUF file of this configuration carries beyond the weights (Llama 3's `rope_freqs.weight`).
    func ggufExtraTensors() -> [(name: String, tensor: Tensor)]
}

extension DecoderFamily {
    /// By default a GGUF tensor is used as stored.
    public func fromGGUF(_ tensor: Tensor, key: String) -> Tensor { tensor }
    /// By default a GGUF matrix is used as stored.
    public func fromGGUF(_ matrix: QuantizedMatrix, key: String) -> QuantizedMatrix { matrix }
    /// By default a tensor is stored as it is.
    public func toGGUF(_ tensor: Tensor, key: String) -> Tensor { tensor }
    /// By default nothing beyond the weights.
    public func ggufExtraTensors() -> [(name: String, tensor: Tensor)] { [] }

    /// Reads a `config.json`; `source` names it in errors, which name the key at fault.
    public init(json data: Data, source: String) throws(ModelError) {
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch let error as DecodingError {
            throw ModelError(decoding: error, source: source)
        } catch { throw ModelError("\(source): \(error)") }
        try validate()
    }

    /// Writes the keys every family's `config.json` has, with the numbers of ``layer(_:)`` 0: sizes,
    /// context, norm epsilon, tied output, the model type and class transformers builds. A family's
    /// `encode(to:)` calls it, then adds its own keys.
    func encodeCommonKeys(to encoder: any Encoder, modelType: String, architecture: String) throws {
        var c = encoder.container(keyedBy: CommonConfigKeys.self)
        let first = layer(0)
        try c.encode(modelType, forKey: .modelType)
        try c.encode([architecture], forKey: .architectures)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(width, forKey: .width)
        try c.encode(layers, forKey: .layers)
        try c.encode(first.attention.heads, forKey: .heads)
        try c.encode(first.attention.kvHeads, forKey: .kvHeads)
        try c.encode(first.attention.headSize, forKey: .headSize)
        try c.encode(first.hidden, forKey: .intermediateSize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode("float32", forKey: .torchDtype)
    }

    /// The `config.json` that loads back here and in transformers.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// `config.json` keys every decoder family writes (``DecoderFamily/encodeCommonKeys(to:modelType:architecture:)``).
enum CommonConfigKeys: String, CodingKey {
    case modelType = "model_type", architectures, vocabSize = "vocab_size", width = "hidden_size", layers = "num_hidden_layers"
    case heads = "num_attention_heads", kvHeads = "num_key_value_heads", headSize = "head_dim", intermediateSize = "intermediate_size"
    case contextLength = "max_position_embeddings", rmsNormEpsilon = "rms_norm_eps", tieWordEmbeddings = "tie_word_embeddings"
    case torchDtype = "torch_dtype"
}

/// The numbers every decoder family's `config.json` has; a family's `init(from:)` starts from them.
struct DecoderShape: Decodable {
    let vocabSize: Int?
    let width: Int, layers: Int, heads: Int, kvHeads: Int, headSize: Int, intermediateSize: Int
    let contextLength: Int?, rmsNormEpsilon: Double?, tieWordEmbeddings: Bool?

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CommonConfigKeys.self)
        vocabSize = try c.decodeInteger(forKey: .vocabSize)
        width = try c.decodeInteger(required: .width)
        layers = try c.decodeInteger(required: .layers)
        heads = try c.decodeInteger(required: .heads)
        kvHeads = try c.decodeInteger(forKey: .kvHeads) ?? heads
        // transformers: head_dim defaults to hidden_size // num_attention_heads (null counts as absent).
        headSize = try c.decodeInteger(forKey: .headSize) ?? width / max(heads, 1)
        intermediateSize = try c.decodeInteger(required: .intermediateSize)
        contextLength = try c.decodeInteger(forKey: .contextLength)
        rmsNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .rmsNormEpsilon)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
    }
}

/// What every decoder family's GGUF file says under llama.cpp's `ARCH.*` metadata keys, and the
/// facts its tensors imply; a family's `init(gguf:)` starts from it.
struct GGUFDecoderMetadata {
    let architecture: String
    let width: Int, layers: Int, heads: Int, kvHeads: Int, headSize: Int, intermediateSize: Int
    let contextLength: Int?, rmsNormEpsilon: Double?, ropeBase: Double?, slidingWindow: Int?
    /// Rows of `token_embd.weight`.
    let vocabSize: Int
    let bosTokenID: Int?, eosTokenID: Int?
    /// Whether the file has its own output matrix (`output.weight`); without one the output is tied.
    let hasOutput: Bool
    let tensorNames: Set<String>

    init(_ file: GGUFFile, architectures: [String]) throws(ModelError) {
        let arch = file["general.architecture"]?.string ?? "missing"
        guard architectures.contains(arch) else {
            throw ModelError("\(file.path): general.architecture is \(arch), not \(architectures.joined(separator: " or "))")
        }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file["\(arch).\(key)"]?.int else {
                throw ModelError("\(file.path): metadata \(arch).\(key) is missing or not an integer")
            }
            return v
        }
        architecture = arch
        width = try int("embedding_length")
        layers = try int("block_count")
        heads = try int("attention.head_count")
        guard heads > 0 else { throw ModelError("\(file.path): metadata \(arch).attention.head_count must be positive") }
        kvHeads = file["\(arch).attention.head_count_kv"]?.int ?? heads
        headSize = file["\(arch).attention.key_length"]?.int ?? width / heads
        intermediateSize = try int("feed_forward_length")
        contextLength = file["\(arch).context_length"]?.int
        rmsNormEpsilon = file["\(arch).attention.layer_norm_rms_epsilon"]?.double
        ropeBase = file["\(arch).rope.freq_base"]?.double
        slidingWindow = file["\(arch).attention.sliding_window"]?.int
        bosTokenID = file["tokenizer.ggml.bos_token_id"]?.int
        eosTokenID = file["tokenizer.ggml.eos_token_id"]?.int
        tensorNames = Set(file.tensors.map(\.name))
        hasOutput = tensorNames.contains("output.weight")
        guard let vocabulary = file.tensors.first(where: { $0.name == "token_embd.weight" })?.dimensions.last else {
            throw ModelError("\(file.path): no token_embd.weight tensor")
        }
        vocabSize = vocabulary
    }
}
