import Foundation
import LMKitNN
import LMKitTensor

/// How llama.cpp's GGUF files of the Llama family map onto ``LlamaForCausalLM``.
///
/// - Architectures: `llama` (Llama 1/2/3, Mistral, SmolLM: llama.cpp converts them all to `llama`)
///   and `qwen2`. Hyperparameters come from `ARCH.*` metadata.
/// - Names: `token_embd`, `blk.N.attn_q`, … `output_norm`, `output` (absent when the output layer
///   is tied to the embeddings).
/// - Rotary layout: llama.cpp applies `llama` models' rotary embedding to adjacent pairs, so its
///   converter permutes the rows of every query and key matrix (per head, rows `2i + j` ← `j·d/2 + i`);
///   LMKit, like transformers, rotates the two halves of each head, and undoes that permutation.
///   `qwen2` files use the half-split layout already and are not permuted.
/// - Llama 3's frequency rescaling is stored as the tensor `rope_freqs.weight` (one divisor per
///   frequency), not as metadata.
public enum LlamaCheckpoint {
    /// Architectures read from GGUF files.
    public static let ggufArchitectures = ["llama", "qwen2"]

    /// GGUF name suffix of each layer tensor → Hugging Face name suffix.
    static let layerNames: [(gguf: String, hf: String)] = [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"), ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.weight", "self_attn.k_proj.weight"), ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.weight", "self_attn.v_proj.weight"), ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
    ]

    /// The configuration in a GGUF file's metadata. Unsupported rotary scaling is an error.
    public static func config(gguf file: GGUFFile) throws(ModelError) -> LlamaConfig {
        let arch = file["general.architecture"]?.string ?? "missing"
        guard ggufArchitectures.contains(arch) else {
            throw ModelError("\(file.path): general.architecture \(arch) is not a Llama-family architecture LMKit reads (\(ggufArchitectures.joined(separator: ", ")))")
        }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file["\(arch).\(key)"]?.int else { throw ModelError("\(file.path): metadata \(arch).\(key) is missing or not an integer") }
            return v
        }
        var c = LlamaConfig()
        c.modelType = arch
        c.width = try int("embedding_length")
        c.layers = try int("block_count")
        c.heads = try int("attention.head_count")
        c.kvHeads = file["\(arch).attention.head_count_kv"]?.int ?? c.heads
        c.headSize = file["\(arch).attention.key_length"]?.int ?? c.width / c.heads
        c.intermediateSize = try int("feed_forward_length")
        c.contextLength = file["\(arch).context_length"]?.int ?? c.contextLength
        c.rmsNormEpsilon = file["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5
        c.ropeBase = file["\(arch).rope.freq_base"]?.double ?? 10_000
        c.slidingWindow = file["\(arch).attention.sliding_window"]?.int
        if let dimensions = file["\(arch).rope.dimension_count"]?.int, dimensions != c.headSize {
            throw ModelError("\(file.path): rotary embedding over \(dimensions) of \(c.headSize) head dimensions is not supported")
        }
        if let scaling = file["\(arch).rope.scaling.type"]?.string, scaling != "none" {
            throw ModelError("\(file.path): rope scaling \"\(scaling)\" is not supported (none, or Llama 3's rope_freqs tensor)")
        }
        let names = Set(file.tensors.map(\.name))
        c.tieWordEmbeddings = !names.contains("output.weight")
        c.attentionBias = names.contains("blk.0.attn_q.bias")
        guard let vocabulary = file.tensors.first(where: { $0.name == "token_embd.weight" })?.dimensions.last else {
            throw ModelError("\(file.path): no token_embd.weight tensor")
        }
        c.vocabularySize = vocabulary
        if names.contains("rope_freqs.weight") {
            do { c.ropeFrequencyFactors = try file.floats("rope_freqs.weight").scalars(as: Float.self) } catch { throw ModelError(error.description) }
            guard c.ropeFrequencyFactors!.count == c.headSize / 2, c.ropeFrequencyFactors!.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ModelError("\(file.path): rope_freqs.weight has \(c.ropeFrequencyFactors!.count) factors for \(c.headSize / 2) frequencies, or factors that are not positive")
            }
        }
        c.bosTokenID = file["tokenizer.ggml.bos_token_id"]?.int
        c.eosTokenID = file["tokenizer.ggml.eos_token_id"]?.int
        try c.validate()
        return c
    }

    /// Row order that undoes llama.cpp's query/key permutation for `heads` heads of `headSize`:
    /// Hugging Face row `h·d + j·d/2 + i` is GGUF row `h·d + 2i + j`.
    static func unpermutedRows(heads: Int, headSize d: Int) -> [Int] {
        var order = [Int](repeating: 0, count: heads * d)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<(d / 2) { order[h * d + j * d / 2 + i] = h * d + 2 * i + j }
            }
        }
        return order
    }

    /// The weights under their Hugging Face names: matrices as stored (quantized, memory-mapped;
    /// query and key rows reordered into a copy for `llama`), norms and biases as float32.
    public static func weights(gguf file: GGUFFile, config c: LlamaConfig) throws(ModelError)
        -> (matrices: [String: QuantizedMatrix], tensors: [String: Tensor]) {
        var matrices: [String: QuantizedMatrix] = [:]
        var tensors: [String: Tensor] = [:]
        let permuted = c.modelType == "llama"
        let names = Set(file.tensors.map(\.name))
        do {
            func matrix(_ name: String) throws(GGUFError) -> QuantizedMatrix { try QuantizedMatrix(try file.data(name), file: file) }
            matrices["model.embed_tokens.weight"] = try matrix("token_embd.weight")
            if !c.tieWordEmbeddings { matrices["lm_head.weight"] = try matrix("output.weight") }
            tensors["model.norm.weight"] = try file.floats("output_norm.weight")
            for i in 0..<c.layers {
                for (g, h) in layerNames {
                    let name = "blk.\(i).\(g)", key = "model.layers.\(i).\(h)"
                    guard names.contains(name) else {
                        if g.hasSuffix(".bias") && !c.attentionBias { continue }
                        throw ModelError("\(file.path): tensor \(name) is missing")
                    }
                    let heads = g.hasPrefix("attn_q.") ? c.heads : g.hasPrefix("attn_k.") ? c.kvHeads : 0
                    let order = permuted && heads > 0 ? unpermutedRows(heads: heads, headSize: c.headSize) : nil
                    if g.hasSuffix(".weight") && !g.hasSuffix("norm.weight") {
                        let m = try matrix(name)
                        matrices[key] = order.map { m.permutingRows($0) } ?? m
                    } else {
                        let t = try file.floats(name)
                        tensors[key] = order.map { o in Tensor(shape: t.shape, scalars: { let v = t.scalars(as: Float.self); return o.map { v[$0] } }()) } ?? t
                    }
                }
            }
        } catch let e as ModelError { throw e } catch { throw ModelError("\(error)") }
        return (matrices, tensors)
    }
}

extension LlamaForCausalLM {
    /// Loads a Llama-family GGUF file (`llama`, `qwen2`). With `keepQuantized` (the default) the
    /// matrices stay in their blocks, memory-mapped from the file; otherwise every weight is
    /// expanded to float32 parameters.
    public static func load(gguf file: GGUFFile, keepQuantized: Bool = true) throws(ModelError) -> LlamaForCausalLM {
        let config = try LlamaCheckpoint.config(gguf: file)
        var (matrices, tensors) = try LlamaCheckpoint.weights(gguf: file, config: config)
        let model: LlamaForCausalLM
        if keepQuantized {
            model = try LlamaForCausalLM(config, randomInit: false, quantized: matrices)
        } else {
            model = try LlamaForCausalLM(config, randomInit: false)
            for (name, m) in matrices { tensors[name] = m.dequantized() }
        }
        do { try model.load(tensors) } catch { throw ModelError("\(file.path): \(error.description)") }
        model.eval()
        return model
    }
}

/// Decoders read from GGUF files, chosen by `general.architecture`.
public enum GGUFDecoder {
    /// Architectures LMKit runs from GGUF files.
    public static var architectures: [String] { ["gemma3"] + LlamaCheckpoint.ggufArchitectures }

    /// The model in `file`, weights kept quantized, with `activations` for its decoding products.
    public static func load(_ file: GGUFFile, activations: QuantizedMatrix.Activations = .int8) throws(ModelError) -> any QuantizedDecoder {
        let arch = file["general.architecture"]?.string ?? "missing"
        let model: any QuantizedDecoder
        switch arch {
        case "gemma3": model = try Gemma3ForCausalLM.load(gguf: file)
        case _ where LlamaCheckpoint.ggufArchitectures.contains(arch): model = try LlamaForCausalLM.load(gguf: file)
        default:
            throw ModelError("\(file.path): general.architecture \(arch) is not supported (LMKit runs \(architectures.joined(separator: ", ")) GGUF files)")
        }
        model.quantizedActivations = activations
        return model
    }
}
