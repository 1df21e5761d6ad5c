import Foundation
import LMKitNN
import LMKitTensor

/// How Gemma 3 files map onto ``Gemma3ForCausalLM``: GGUF (llama.cpp's names, norm weights stored as
/// 1 + w by its converter) and Hugging Face folders (`Gemma3ForCausalLM`, `gemma3_text`).
public enum Gemma3Checkpoint {
    /// GGUF tensor name suffix of each layer → Hugging Face name suffix, and whether it is a norm.
    static let layerNames: [(gguf: String, hf: String, norm: Bool)] = [
        ("attn_norm.weight", "input_layernorm.weight", true),
        ("attn_q.weight", "self_attn.q_proj.weight", false),
        ("attn_k.weight", "self_attn.k_proj.weight", false),
        ("attn_v.weight", "self_attn.v_proj.weight", false),
        ("attn_output.weight", "self_attn.o_proj.weight", false),
        ("attn_q_norm.weight", "self_attn.q_norm.weight", true),
        ("attn_k_norm.weight", "self_attn.k_norm.weight", true),
        ("post_attention_norm.weight", "post_attention_layernorm.weight", true),
        ("ffn_norm.weight", "pre_feedforward_layernorm.weight", true),
        ("ffn_gate.weight", "mlp.gate_proj.weight", false),
        ("ffn_up.weight", "mlp.up_proj.weight", false),
        ("ffn_down.weight", "mlp.down_proj.weight", false),
        ("post_ffw_norm.weight", "post_feedforward_layernorm.weight", true),
    ]

    /// The configuration in a GGUF file's `gemma3.*` metadata. llama.cpp fixes what the file does
    /// not say: every 6th layer is global, sliding-window layers use rotary base 10,000, queries
    /// are scaled by head size^(−1/2).
    public static func config(gguf file: GGUFFile) throws(ModelError) -> Gemma3Config {
        guard file["general.architecture"]?.string == "gemma3" else {
            throw ModelError("\(file.path): general.architecture is \(file["general.architecture"]?.description ?? "missing"); LMKit reads gemma3 GGUF files (Llama-family GGUF files are not supported yet)")
        }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file["gemma3." + key]?.int else { throw ModelError("\(file.path): metadata gemma3.\(key) is missing or not an integer") }
            return v
        }
        var c = Gemma3Config()
        c.width = try int("embedding_length")
        c.layers = try int("block_count")
        c.heads = try int("attention.head_count")
        c.kvHeads = file["gemma3.attention.head_count_kv"]?.int ?? c.heads
        c.headSize = file["gemma3.attention.key_length"]?.int ?? c.width / c.heads
        c.intermediateSize = try int("feed_forward_length")
        c.contextLength = file["gemma3.context_length"]?.int ?? c.contextLength
        c.rmsNormEpsilon = file["gemma3.attention.layer_norm_rms_epsilon"]?.double ?? 1e-6
        c.ropeBase = file["gemma3.rope.freq_base"]?.double ?? 1_000_000
        c.slidingWindow = file["gemma3.attention.sliding_window"]?.int ?? 512
        c.globalLayers = (0..<c.layers).map { ($0 + 1) % 6 == 0 }
        c.queryPreAttentionScalar = Double(c.headSize)
        c.bosTokenID = file["tokenizer.ggml.bos_token_id"]?.int
        c.eosTokenID = file["tokenizer.ggml.eos_token_id"]?.int
        guard let vocabulary = file.tensors.first(where: { $0.name == "token_embd.weight" })?.dimensions.last else {
            throw ModelError("\(file.path): no token_embd.weight tensor")
        }
        c.vocabularySize = vocabulary
        try c.validate()
        return c
    }

    /// The weights of a GGUF file under their Hugging Face names: the matrices as they are stored
    /// (quantized, memory-mapped), the norms as float32 brought back from 1 + w to w.
    public static func weights(gguf file: GGUFFile, config c: Gemma3Config) throws(ModelError)
        -> (matrices: [String: QuantizedMatrix], norms: [String: Tensor]) {
        var matrices: [String: QuantizedMatrix] = [:]
        var norms: [String: Tensor] = [:]
        do {
            func matrix(_ name: String) throws(GGUFError) -> QuantizedMatrix { try QuantizedMatrix(try file.data(name), file: file) }
            matrices["model.embed_tokens.weight"] = try matrix("token_embd.weight")
            norms["model.norm.weight"] = try file.floats("output_norm.weight") - 1
            for i in 0..<c.layers {
                for (g, h, isNorm) in layerNames {
                    if isNorm { norms["model.layers.\(i).\(h)"] = try file.floats("blk.\(i).\(g)") - 1 } else {
                        matrices["model.layers.\(i).\(h)"] = try matrix("blk.\(i).\(g)")
                    }
                }
            }
        } catch { throw ModelError(error.description) }
        return (matrices, norms)
    }
}

extension Gemma3ForCausalLM {
    /// Loads a Gemma 3 GGUF file (the `GGUFFile` overload says what `keepQuantized` does).
    public static func load(gguf path: String, keepQuantized: Bool = true) throws(ModelError) -> Gemma3ForCausalLM {
        do { return try load(gguf: try GGUFFile(path: path), keepQuantized: keepQuantized) } catch let e as ModelError { throw e } catch {
            throw ModelError("\(error)")
        }
    }

    /// Loads an opened Gemma 3 GGUF file (its tokenizer can be read from the same `file`). With
    /// `keepQuantized` (the default) the matrices stay in their blocks, memory-mapped from the file,
    /// and products run on them; otherwise every weight is expanded to float32 parameters (for
    /// training, or to compare).
    public static func load(gguf file: GGUFFile, keepQuantized: Bool = true) throws(ModelError) -> Gemma3ForCausalLM {
        let config = try Gemma3Checkpoint.config(gguf: file)
        let (matrices, norms) = try Gemma3Checkpoint.weights(gguf: file, config: config)
        let model: Gemma3ForCausalLM
        var tensors = norms
        if keepQuantized {
            model = try Gemma3ForCausalLM(config, randomInit: false, quantized: matrices)
        } else {
            model = try Gemma3ForCausalLM(config, randomInit: false)
            for (name, m) in matrices { tensors[name] = m.dequantized() }
        }
        do { try model.load(tensors) } catch { throw ModelError("\(file.path): \(error.description)") }
        model.eval()
        return model
    }
}

extension Gemma3Checkpoint {
    /// The configuration in a Hugging Face `config.json` (`gemma3_text`, or the text part of a
    /// `gemma3` checkpoint). Rotary bases come from `rope_theta` / `rope_local_base_freq` or from
    /// transformers 5's `rope_parameters`; layer kinds from `layer_types` or `sliding_window_pattern`.
    public static func config(json data: Data, source: String) throws(ModelError) -> Gemma3Config {
        var json = try ConfigJSON(data, source: source)
        if json["model_type"] as? String == "gemma3", let text = json["text_config"] as? [String: Any] { json = ConfigJSON(root: text, source: source) }
        let root = json.root
        guard let type = json["model_type"] as? String, ["gemma3_text", "gemma3"].contains(type) else {
            throw ModelError("\(source): model_type \(json["model_type"].map { "\"\($0)\"" } ?? "missing") is not gemma3_text")
        }
        var c = Gemma3Config()
        c.vocabularySize = try json.int("vocab_size", c.vocabularySize)
        c.width = try json.int("hidden_size")
        c.layers = try json.int("num_hidden_layers")
        c.heads = try json.int("num_attention_heads")
        c.kvHeads = try json.int("num_key_value_heads", c.heads)
        c.headSize = try json.int("head_dim", c.width / c.heads)
        c.intermediateSize = try json.int("intermediate_size")
        c.contextLength = try json.int("max_position_embeddings", c.contextLength)
        c.rmsNormEpsilon = try json.double("rms_norm_eps", 1e-6)
        c.slidingWindow = try json.int("sliding_window", 512)
        c.queryPreAttentionScalar = try json.double("query_pre_attn_scalar", Double(c.headSize))
        let rope = root["rope_parameters"] as? [String: Any]
        c.ropeBase = (rope?["full_attention"] as? [String: Any])?["rope_theta"] as? Double ?? root["rope_theta"] as? Double ?? 1_000_000
        c.ropeLocalBase = (rope?["sliding_attention"] as? [String: Any])?["rope_theta"] as? Double ?? root["rope_local_base_freq"] as? Double ?? 10_000
        for key in ["full_attention", "sliding_attention"] {
            if let scaling = (rope?[key] as? [String: Any])?["rope_type"] as? String, scaling != "default" {
                throw ModelError("\(source): rope_type \"\(scaling)\" is not supported for Gemma 3 yet (default only)")
            }
        }
        if let scaling = root["rope_scaling"] as? [String: Any], !scaling.isEmpty {
            throw ModelError("\(source): rope_scaling is not supported for Gemma 3 yet")
        }
        if let kinds = root["layer_types"] as? [String] {
            c.globalLayers = kinds.map { $0 == "full_attention" }
        } else {
            let pattern = try json.int("sliding_window_pattern", 6)
            c.globalLayers = (0..<c.layers).map { ($0 + 1) % pattern == 0 }
        }
        for key in ["final_logit_softcapping", "attn_logit_softcapping"] where root[key] is Double {
            throw ModelError("\(source): \(key) is not supported")
        }
        c.bosTokenID = root["bos_token_id"] as? Int
        c.eosTokenID = (root["eos_token_id"] as? Int) ?? (root["eos_token_id"] as? [Int])?.first
        try c.validate()
        return c
    }

    /// The `config.json` transformers reads as `Gemma3ForCausalLM` (`gemma3_text`).
    static func json(_ c: Gemma3Config) -> Data {
        let root: [String: Any] = [
            "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": c.vocabularySize,
            "hidden_size": c.width, "num_hidden_layers": c.layers, "num_attention_heads": c.heads,
            "num_key_value_heads": c.kvHeads, "head_dim": c.headSize, "intermediate_size": c.intermediateSize,
            "max_position_embeddings": c.contextLength, "rms_norm_eps": c.rmsNormEpsilon, "sliding_window": c.slidingWindow,
            "query_pre_attn_scalar": c.queryPreAttentionScalar, "rope_theta": c.ropeBase, "rope_local_base_freq": c.ropeLocalBase,
            "layer_types": c.globalLayers.map { $0 ? "full_attention" : "sliding_attention" },
            "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": true, "pad_token_id": 0,
            "bos_token_id": c.bosTokenID.map { $0 as Any } ?? NSNull(), "eos_token_id": c.eosTokenID.map { $0 as Any } ?? NSNull(),
            "final_logit_softcapping": NSNull(), "attn_logit_softcapping": NSNull(), "torch_dtype": "float32",
        ]
        return (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }
}

extension Gemma3ForCausalLM {
    /// Loads a Hugging Face folder (`config.json` + `model.safetensors` or shards). Strict: every
    /// missing, unexpected or mis-shaped key is named; a stored `lm_head.weight` must be the tied
    /// embedding matrix.
    public static func load(folder: String) throws(ModelError) -> Gemma3ForCausalLM {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError("\(path): cannot read the file") }
        let config = try Gemma3Checkpoint.config(json: data, source: path)
        let model = try Gemma3ForCausalLM(config, randomInit: false)
        var tensors: [String: Tensor]
        do { tensors = try ModelFolder.tensors(in: folder) } catch let e as ModelError { throw e } catch { throw ModelError("\(folder): \(error)") }
        // Multimodal checkpoints keep the text model under language_model.
        if tensors.keys.contains(where: { $0.hasPrefix("language_model.") }) {
            tensors = Dictionary(uniqueKeysWithValues: tensors.compactMap { k, v in
                k.hasPrefix("language_model.") ? (String(k.dropFirst("language_model.".count)), v) : nil
            })
        }
        let head = tensors.removeValue(forKey: "lm_head.weight")
        do { try model.load(tensors) } catch { throw ModelError("\(folder): \(error.description)") }
        if let head, head.scalars(as: Float.self) != model.embedding?.weight.value.scalars(as: Float.self) {
            throw ModelError("\(folder): lm_head.weight differs from the embeddings; Gemma 3 ties them")
        }
        model.eval()
        return model
    }

    /// Writes a Hugging Face folder (`config.json`, `model.safetensors` in float32) that transformers
    /// loads as `Gemma3ForCausalLM`: a GGUF file converted to the format most tools read.
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Array(Gemma3Checkpoint.json(config)), to: (folder as NSString).appendingPathComponent("config.json"))
        try SafetensorsFile.write(floatWeights(), metadata: ["format": "pt"], to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }
}
