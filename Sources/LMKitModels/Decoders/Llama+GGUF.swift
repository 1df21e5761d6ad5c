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
extension LlamaConfig {
    /// `llama` (Llama 1/2/3, Mistral, SmolLM) and `qwen2`.
    public static let ggufArchitectures = ["llama", "qwen2"]

    /// Per-layer tensor names; only files with attention biases (Qwen2) have the `.bias` ones.
    public static let ggufLayerNames: [(gguf: String, hf: String)] = [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"), ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.weight", "self_attn.k_proj.weight"), ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.weight", "self_attn.v_proj.weight"), ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_output.weight", "self_attn.o_proj.weight"), ("attn_output.bias", "self_attn.o_proj.bias"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
    ]

    /// The configuration in a GGUF file's metadata. Unsupported rotary scaling is an error.
    public init(gguf file: GGUFFile) throws(ModelError) {
        let m = try GGUFDecoderMetadata(file, architectures: Self.ggufArchitectures)
        let arch = m.architecture
        var c = LlamaConfig()
        c.modelType = arch
        (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize) = (m.vocabSize, m.width, m.layers, m.heads, m.kvHeads, m.headSize)
        c.intermediateSize = m.intermediateSize
        c.contextLength = m.contextLength ?? c.contextLength
        c.rmsNormEpsilon = m.rmsNormEpsilon ?? 1e-5
        c.ropeBase = m.ropeBase ?? 10_000
        c.slidingWindow = m.slidingWindow
        if let dimensions = file["\(arch).rope.dimension_count"]?.int, dimensions != c.headSize {
            throw ModelError("\(file.path): rotary embedding over \(dimensions) of \(c.headSize) head dimensions is not supported")
        }
        if let scaling = file["\(arch).rope.scaling.type"]?.string, scaling != "none" {
            throw ModelError("\(file.path): rope scaling \"\(scaling)\" is not supported (none, or Llama 3's rope_freqs tensor)")
        }
        c.tieWordEmbeddings = !m.hasOutput
        c.attentionBias = arch == "llama" && m.tensorNames.contains("blk.0.attn_q.bias")
        if m.tensorNames.contains("rope_freqs.weight") {
            do { c.ropeFrequencyFactors = try file.floats("rope_freqs.weight").scalars(as: Float.self) } catch {
                throw ModelError("\(error)")
            }
        }
        (c.bosTokenID, c.eosTokenID) = (m.bosTokenID, m.eosTokenID)
        do { try c.validate() } catch { throw ModelError("\(file.path): \(error.description)") }
        self = c
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

    /// The query/key row order of `key` in a `llama` file (nil: stored as transformers has it).
    func ggufRowOrder(_ key: String) -> [Int]? {
        guard modelType == "llama" else { return nil }
        if key.contains(".self_attn.q_proj.") { return Self.unpermutedRows(heads: heads, headSize: headSize) }
        if key.contains(".self_attn.k_proj.") { return Self.unpermutedRows(heads: kvHeads, headSize: headSize) }
        return nil
    }

    /// Undoes llama.cpp's row permutation of query and key matrices in `llama` files.
    public func fromGGUF(_ matrix: QuantizedMatrix, key: String) -> QuantizedMatrix {
        ggufRowOrder(key).map { matrix.permutingRows($0) } ?? matrix
    }

    /// Undoes llama.cpp's row permutation of query and key biases (the 1-D tensors) in `llama` files.
    public func fromGGUF(_ tensor: Tensor, key: String) -> Tensor {
        guard let order = ggufRowOrder(key) else { return tensor }
        let v = tensor.scalars(as: Float.self)
        return Tensor(shape: tensor.shape, scalars: order.map { v[$0] })
    }
}

extension LlamaConfig {
    /// `llama` (Llama, Mistral, SmolLM) or `qwen2` metadata: sizes, norm epsilon, rotary base.
    public func ggufMetadata() throws(ModelError) -> [(key: String, value: GGUFValue)] {
        let arch = modelType == "qwen2" ? "qwen2" : "llama"
        guard arch == "llama" || !attentionBias || queryKeyValueBias else {
            throw ModelError("\(modelType): attention biases GGUF cannot hold")
        }
        var m: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(arch)),
            ("\(arch).context_length", .uint32(UInt32(contextLength))), ("\(arch).embedding_length", .uint32(UInt32(width))),
            ("\(arch).block_count", .uint32(UInt32(layers))), ("\(arch).feed_forward_length", .uint32(UInt32(intermediateSize))),
            ("\(arch).attention.head_count", .uint32(UInt32(heads))), ("\(arch).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(arch).attention.key_length", .uint32(UInt32(headSize))), ("\(arch).attention.value_length", .uint32(UInt32(headSize))),
            ("\(arch).rope.dimension_count", .uint32(UInt32(headSize))), ("\(arch).rope.freq_base", .float32(Float(ropeBase))),
            ("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(rmsNormEpsilon))),
            ("\(arch).vocab_size", .uint32(UInt32(vocabSize))),
        ]
        if let w = slidingWindow { m.append(("\(arch).attention.sliding_window", .uint32(UInt32(w)))) }
        return m
    }

    /// Query and key rows permuted back to llama.cpp's interleaved rotary layout (`llama` files).
    public func toGGUF(_ tensor: Tensor, key: String) -> Tensor {
        guard let order = ggufRowOrder(key) else { return tensor }
        var inverse = [Int](repeating: 0, count: order.count)
        for (k, r) in order.enumerated() { inverse[r] = k }
        // Rows gathered as an embedding lookup does (a bias is a table of one-element rows).
        return GradMode.withoutGradient {
            tensor.reshaped([tensor.shape[0], -1]).gatheringRows(Tensor(indices: inverse, shape: [inverse.count])).reshaped(tensor.shape)
        }
    }

    /// Llama 3's rotary rescaling as the divisors llama.cpp reads (`rope_freqs.weight`).
    public func ggufExtraTensors() -> [(name: String, tensor: Tensor)] {
        guard ropeFrequencyFactors != nil || llama3Scaling != nil else { return [] }
        let base = RotaryEmbedding.defaultFrequencies(headSize: headSize, base: ropeBase)
        let factors = zip(base, rotaryFrequencies).map { $0 / $1 }
        return [("rope_freqs.weight", Tensor(shape: [factors.count], scalars: factors))]
    }
}
