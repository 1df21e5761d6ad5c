// The Llama family (Touvron et al. 2023, "LLaMA"; Llama 2 and 3; Qwen2, SmolLM and Mistral share the
// layout): pre-norm decoder layers with RMSNorm, rotary positions (with Llama 3's frequency
// rescaling when the config asks for it), grouped-query attention (Qwen2 adds biases to q, k and v),
// a SwiGLU feed-forward block, and an output layer tied to the embeddings or not. Mirrors Hugging
// Face transformers `models/llama/modeling_llama.py` (LlamaForCausalLM) and `qwen2`; parameter names
// are the Hugging Face keys.
import Foundation
import LMKitNN
import LMKitTensor

/// A Llama-family configuration (`config.json` of `llama`, `qwen2`, `mistral` models).
public struct LlamaConfig: Sendable, Equatable {
    public var modelType = "llama"
    public var vocabularySize = 32_000
    public var width = 4096
    public var layers = 32
    public var heads = 32
    public var kvHeads = 32
    public var headSize = 128
    public var intermediateSize = 11_008
    public var rmsNormEpsilon = 1e-5
    public var ropeBase = 10_000.0
    /// Llama 3 rescaling: factor, low- and high-frequency factors, original context (nil: none).
    public var llama3Scaling: (factor: Double, low: Double, high: Double, originalContext: Int)? {
        get { scaling.map { ($0[0], $0[1], $0[2], Int($0[3])) } }
        set { scaling = newValue.map { [$0.factor, $0.low, $0.high, Double($0.originalContext)] } }
    }
    private var scaling: [Double]?
    /// Per-frequency divisors of the rotary frequencies (a GGUF file's `rope_freqs.weight`, where
    /// llama.cpp's converter stores Llama 3's rescaling).
    public var ropeFrequencyFactors: [Float]?
    /// Biases on the q, k, v projections (Qwen2).
    public var attentionBias = false
    public var tieWordEmbeddings = false
    /// Mistral's sliding window (nil: every layer attends to everything).
    public var slidingWindow: Int?
    public var contextLength = 4096
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    public init() {}

    public func validate() throws(ModelError) {
        guard vocabularySize > 0, width > 0, layers > 0, heads > 0, kvHeads > 0, headSize > 0, intermediateSize > 0, headSize % 2 == 0 else {
            throw ModelError("\(modelType) config: sizes must be positive and the head size even")
        }
        guard heads % kvHeads == 0 else { throw ModelError("\(modelType) config: \(heads) query heads are not a multiple of \(kvHeads) key/value heads") }
    }

    /// The rotary inverse frequencies this configuration implies.
    var rotaryFrequencies: [Float] {
        let base = RotaryEmbedding.defaultFrequencies(headSize: headSize, base: ropeBase)
        if let factors = ropeFrequencyFactors { return zip(base, factors).map { $0 / $1 } }
        guard let s = llama3Scaling else { return base }
        return RotaryEmbedding.llama3Frequencies(base, factor: s.factor, lowFrequencyFactor: s.low, highFrequencyFactor: s.high, originalContext: s.originalContext)
    }

    /// Parses a `config.json`; `source` names it in errors. Unsupported variants are errors.
    public init(json data: Data, source: String) throws(ModelError) {
        let json = try ConfigJSON(data, source: source)
        let root = json.root
        guard let type = json["model_type"] as? String, ["llama", "qwen2", "mistral"].contains(type) else {
            throw ModelError("\(source): model_type \(json["model_type"].map { "\"\($0)\"" } ?? "missing") is not a Llama-family model (llama, qwen2, mistral)")
        }
        modelType = type
        vocabularySize = try json.int("vocab_size")
        width = try json.int("hidden_size")
        layers = try json.int("num_hidden_layers")
        heads = try json.int("num_attention_heads")
        kvHeads = try json.int("num_key_value_heads", heads)
        headSize = try json.int("head_dim", width / heads)
        intermediateSize = try json.int("intermediate_size")
        contextLength = try json.int("max_position_embeddings", 4096)
        rmsNormEpsilon = try json.double("rms_norm_eps", 1e-6)
        let activation = try json.string("hidden_act", "silu")
        guard activation == "silu" else { throw ModelError("\(source): hidden_act \"\(activation)\" is not supported (silu)") }
        if root["mlp_bias"] as? Bool == true { throw ModelError("\(source): mlp_bias is not supported") }
        attentionBias = type == "qwen2" || root["attention_bias"] as? Bool == true
        tieWordEmbeddings = root["tie_word_embeddings"] as? Bool ?? false
        if type == "mistral" || (type == "qwen2" && root["use_sliding_window"] as? Bool == true) {
            slidingWindow = root["sliding_window"] as? Int
        }
        // transformers 5 keeps rope settings in rope_parameters; 4 in rope_theta and rope_scaling.
        let rope = (root["rope_parameters"] as? [String: Any]) ?? (root["rope_scaling"] as? [String: Any]) ?? [:]
        ropeBase = rope["rope_theta"] as? Double ?? root["rope_theta"] as? Double ?? 10_000
        let ropeType = rope["rope_type"] as? String ?? rope["type"] as? String ?? "default"
        switch ropeType {
        case "default": break
        case "llama3":
            guard let factor = rope["factor"] as? Double, let original = rope["original_max_position_embeddings"] as? Int else {
                throw ModelError("\(source): llama3 rope scaling needs factor and original_max_position_embeddings")
            }
            llama3Scaling = (factor, rope["low_freq_factor"] as? Double ?? 1, rope["high_freq_factor"] as? Double ?? 4, original)
        default:
            throw ModelError("\(source): rope_type \"\(ropeType)\" is not supported (default, llama3)")
        }
        bosTokenID = root["bos_token_id"] as? Int
        eosTokenID = (root["eos_token_id"] as? Int) ?? (root["eos_token_id"] as? [Int])?.first
        try validate()
    }
}

/// One Llama decoder layer: `h = x + attn(norm(x))`, `h + mlp(norm(h))`.
public final class LlamaLayer: Module {
    public let inputNorm: RMSNorm, postAttentionNorm: RMSNorm
    public let attention: DecoderAttention
    public let mlp: GatedFeedForward

    init(_ c: LlamaConfig, index: Int, randomInit: Bool, quantized: [String: QuantizedMatrix], generator g: inout RandomGenerator) {
        inputNorm = RMSNorm(c.width, eps: c.rmsNormEpsilon)
        postAttentionNorm = RMSNorm(c.width, eps: c.rmsNormEpsilon)
        let p = DecoderProjections(layer: index, quantized: quantized, randomInit: randomInit)
        attention = DecoderAttention(width: c.width, heads: c.heads, kvHeads: c.kvHeads, headSize: c.headSize,
                                     rotary: RotaryEmbedding(headSize: c.headSize, base: c.ropeBase, inverseFrequencies: c.rotaryFrequencies),
                                     bias: c.attentionBias, headNorm: nil, window: c.slidingWindow, scale: nil, projections: p, generator: &g)
        mlp = GatedFeedForward(width: c.width, hidden: c.intermediateSize, gate: .silu, projections: p, generator: &g)
        super.init()
        register("input_layernorm", inputNorm)
        register("self_attn", attention)
        register("post_attention_layernorm", postAttentionNorm)
        register("mlp", mlp)
    }

    func callAsFunction(_ x: Tensor, start: Int, cache: KVCache?, layer: Int) -> Tensor {
        let r = x + attention(inputNorm(x), start: start, cache: cache, layer: layer)
        return r + mlp(postAttentionNorm(r))
    }
}

/// A Llama-family causal language model (`LlamaForCausalLM`, `Qwen2ForCausalLM`, `MistralForCausalLM`).
public final class LlamaForCausalLM: Module {
    public let config: LlamaConfig
    /// The token embeddings as float32 parameters, or nil when they stay quantized (`quantized`).
    public let embedding: Embedding?
    public let layers: [LlamaLayer]
    public let norm: RMSNorm
    /// The output layer; nil when it is tied to the embeddings or stays quantized.
    public let lmHead: Linear?
    /// The weights kept quantized, by Hugging Face name (empty for a float32 model).
    public let quantized: [String: QuantizedMatrix]

    /// A model with random weights (`seed`), or zeros when a checkpoint is loaded right after. The
    /// matrices in `quantized` (Hugging Face names) stay quantized and are not parameters.
    public init(_ config: LlamaConfig, seed: UInt64 = 0, randomInit: Bool = true,
                quantized: [String: QuantizedMatrix] = [:]) throws(ModelError) {
        try config.validate()
        self.config = config
        self.quantized = quantized
        var g = RandomGenerator(seed: seed)
        if quantized["model.embed_tokens.weight"] != nil { embedding = nil } else {
            embedding = randomInit ? Embedding(config.vocabularySize, config.width, generator: &g)
                : Embedding(weight: .zeros([config.vocabularySize, config.width]))
        }
        layers = (0..<config.layers).map { LlamaLayer(config, index: $0, randomInit: randomInit, quantized: quantized, generator: &g) }
        norm = RMSNorm(config.width, eps: config.rmsNormEpsilon)
        lmHead = config.tieWordEmbeddings || quantized["lm_head.weight"] != nil ? nil
            : (randomInit ? Linear(config.width, config.vocabularySize, bias: false, generator: &g)
                          : Linear(weight: .zeros([config.vocabularySize, config.width]), bias: nil))
        super.init()
        if let embedding { register(embedding, atPath: "model.embed_tokens") }
        for (i, layer) in layers.enumerated() { register(layer, atPath: "model.layers.\(i)") }
        register(norm, atPath: "model.norm")
        if let lmHead { register("lm_head", lmHead) }
    }

    /// Final hidden states `[B, T, C]` of ids `[B, T]` continuing what `cache` holds.
    public func hiddenStates(_ ids: Tensor, cache: KVCache? = nil) -> Tensor {
        let start = cache?.length ?? 0
        var x = quantized["model.embed_tokens.weight"].map { $0.rows(ids.indexValues).reshaped(ids.shape + [config.width]) } ?? embedding!(ids)
        for (i, layer) in layers.enumerated() { x = layer(x, start: start, cache: cache, layer: i) }
        return norm(x)
    }

    func output(_ h: Tensor) -> Tensor {
        if let lmHead { return lmHead(h) }
        if let head = quantized["lm_head.weight"] ?? (config.tieWordEmbeddings ? quantized["model.embed_tokens.weight"] : nil) { return head.linear(h) }
        return Tensor.linear(h, weight: embedding!.weight.value, bias: nil)
    }

    /// Logits `[B, T, vocab]`.
    public func callAsFunction(_ ids: Tensor, cache: KVCache? = nil) -> Tensor { output(hiddenStates(ids, cache: cache)) }

    /// Loads a Hugging Face folder (`config.json` + `model.safetensors` or shards), strictly.
    public static func load(folder: String) throws(ModelError) -> LlamaForCausalLM {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError("\(path): cannot read the file") }
        let config = try LlamaConfig(json: data, source: path)
        let model = try LlamaForCausalLM(config, randomInit: false)
        var tensors: [String: Tensor]
        do { tensors = try ModelFolder.tensors(in: folder) } catch let e as ModelError { throw e } catch { throw ModelError("\(folder): \(error)") }
        if config.tieWordEmbeddings, let head = tensors.removeValue(forKey: "lm_head.weight"),
           head.scalars(as: Float.self) != tensors["model.embed_tokens.weight"]?.scalars(as: Float.self) {
            throw ModelError("\(folder): lm_head.weight differs from the embeddings but tie_word_embeddings is true")
        }
        tensors = tensors.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
        do { try model.load(tensors) } catch { throw ModelError("\(folder): \(error.description)") }
        model.eval()
        return model
    }
}

extension LlamaForCausalLM: QuantizedDecoder {
    public var contextLength: Int { config.contextLength }
    public var vocabularySize: Int { config.vocabularySize }
    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor { self(ids, cache: cache as? KVCache) }
    public func lastLogits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let h = promptHiddenStates(ids, cache: cache as? KVCache, hiddenStates)
        return output(h.selected(axis: 1, index: h.shape[1] - 1))
    }
    public func makeDecodingCache() -> any DecodingCache { KVCache(layers: config.layers) }
    public func summedNLL(_ ids: [Int], targets: [Int]) -> (sum: Double, count: Int) {
        GradMode.withoutGradient { chunkedNLL(hidden: hiddenStates(Tensor(indices: ids, shape: [1, ids.count])), targets: targets, output: output) }
    }
    public func loss(_ ids: Tensor, targets: Tensor) -> Tensor { self(ids).crossEntropy(targets: targets) }

    /// Writes `config.json` and `model.safetensors`: the original keys LMKit reads, so the folder
    /// loads back (here and in transformers).
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var root: [String: Any] = [
            "model_type": config.modelType, "architectures": [config.modelType == "qwen2" ? "Qwen2ForCausalLM" : config.modelType == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM"],
            "vocab_size": config.vocabularySize, "hidden_size": config.width, "num_hidden_layers": config.layers,
            "num_attention_heads": config.heads, "num_key_value_heads": config.kvHeads, "head_dim": config.headSize,
            "intermediate_size": config.intermediateSize, "rms_norm_eps": config.rmsNormEpsilon, "rope_theta": config.ropeBase,
            "max_position_embeddings": config.contextLength, "tie_word_embeddings": config.tieWordEmbeddings,
            "attention_bias": config.attentionBias, "hidden_act": "silu", "torch_dtype": "float32",
        ]
        if let s = config.llama3Scaling {
            root["rope_scaling"] = ["rope_type": "llama3", "factor": s.factor, "low_freq_factor": s.low, "high_freq_factor": s.high,
                                    "original_max_position_embeddings": s.originalContext] as [String: Any]
        }
        if let w = config.slidingWindow { root["sliding_window"] = w; root["use_sliding_window"] = true }
        if let b = config.bosTokenID { root["bos_token_id"] = b }
        if let e = config.eosTokenID { root["eos_token_id"] = e }
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])),
                             to: (folder as NSString).appendingPathComponent("config.json"))
        try SafetensorsFile.write(stateDict(), metadata: ["format": "pt"], to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }
}
