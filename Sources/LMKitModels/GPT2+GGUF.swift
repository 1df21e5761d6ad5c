// GPT-2 as llama.cpp's `gpt2` GGUF architecture, both ways: what convert_hf_to_gguf.py writes for a
// GPT-2 checkpoint (its Conv1D weights already [out, in], as LMKit's Linear stores them) and what
// llama.cpp's `gpt2` graph reads. LMKit writes the output tied (no `output.weight`: llama.cpp then
// reuses the token embedding); files with their own `output.weight` (convert_hf_to_gguf.py copies the
// embedding there, and a quantized file may hold it in another type) load with an untied head.
// GGUF weights are expanded to float32 on loading: LMKit's quantized kernels serve the Llama family
// and Gemma, not GPT-2.
import LMKitNN
import LMKitTensor

extension GPT2LMHeadModel {
    /// GGUF names of the weights of block N (`blk.N.`), and LMKit's under `transformer.h.N.`.
    static let ggufLayerNames: [(gguf: String, lmkit: String)] = [
        ("attn_norm.weight", "ln_1.weight"), ("attn_norm.bias", "ln_1.bias"),
        ("attn_qkv.weight", "attn.c_attn.weight"), ("attn_qkv.bias", "attn.c_attn.bias"),
        ("attn_output.weight", "attn.c_proj.weight"), ("attn_output.bias", "attn.c_proj.bias"),
        ("ffn_norm.weight", "ln_2.weight"), ("ffn_norm.bias", "ln_2.bias"),
        ("ffn_up.weight", "mlp.c_fc.weight"), ("ffn_up.bias", "mlp.c_fc.bias"),
        ("ffn_down.weight", "mlp.c_proj.weight"), ("ffn_down.bias", "mlp.c_proj.bias"),
    ]
    /// The weights outside the blocks.
    static let ggufGlobalNames: [(gguf: String, lmkit: String)] = [
        ("token_embd.weight", "transformer.wte.weight"), ("position_embd.weight", "transformer.wpe.weight"),
        ("output_norm.weight", "transformer.ln_f.weight"), ("output_norm.bias", "transformer.ln_f.bias"),
        ("output.weight", "lm_head.weight"),
    ]

    /// LMKit's name of GGUF tensor `name`, nil for one GPT-2 does not have.
    static func lmkitName(gguf name: String) -> String? {
        if let g = ggufGlobalNames.first(where: { $0.gguf == name }) { return g.lmkit }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blk", let i = Int(parts[1]),
            let l = ggufLayerNames.first(where: { $0.gguf == parts[2] })
        else { return nil }
        return "transformer.h.\(i).\(l.lmkit)"
    }

    /// A GGUF file of llama.cpp's `gpt2` architecture (hyperparameters from `gpt2.*`, weights
    /// expanded to float32). Every tensor must be GPT-2's and every weight present.
    public convenience init(gguf file: GGUFFile) throws(ModelError) {
        guard file["general.architecture"]?.string == "gpt2" else {
            throw ModelError("\(file.path): general.architecture is \(file["general.architecture"]?.string ?? "missing"), not gpt2")
        }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file["gpt2.\(key)"]?.int, v > 0 else {
                throw ModelError("\(file.path): metadata gpt2.\(key) is missing or not positive")
            }
            return v
        }
        guard let embedding = file.tensors.first(where: { $0.name == "token_embd.weight" }), embedding.dimensions.count == 2 else {
            throw ModelError("\(file.path): no token_embd.weight matrix")
        }
        var c = GPT2Config()
        c.vocabSize = embedding.dimensions[1]
        (c.contextLength, c.width, c.layers, c.heads) = (
            try int("context_length"), try int("embedding_length"), try int("block_count"), try int("attention.head_count")
        )
        let ff = try int("feed_forward_length")
        c.innerWidth = ff == 4 * c.width ? nil : ff
        c.layerNormEpsilon = file["gpt2.attention.layer_norm_epsilon"]?.double ?? 1e-5
        (c.bosTokenID, c.eosTokenID) = (file["tokenizer.ggml.bos_token_id"]?.int, file["tokenizer.ggml.eos_token_id"]?.int)
        (c.residualDropout, c.embeddingDropout, c.attentionDropout) = (0, 0, 0)
        var tensors: [String: Tensor] = [:]
        for info in file.tensors {
            guard let name = Self.lmkitName(gguf: info.name) else {
                throw ModelError("\(file.path): tensor \(info.name) is not one of GPT-2's")
            }
            do { tensors[name] = try file.floats(info.name) } catch { throw ModelError("\(file.path): tensor \(info.name): \(error)") }
        }
        // convert_hf_to_gguf.py writes the tied embedding again as output.weight: the same bytes mean tied.
        if tensors["lm_head.weight"] != nil,
            (try? Array(file.data("output.weight").bytes)) == (try? Array(file.data("token_embd.weight").bytes))
        {
            tensors["lm_head.weight"] = nil
        }
        c.tieWordEmbeddings = tensors["lm_head.weight"] == nil
        try self.init(c)
        do { try load(tensors) } catch { throw ModelError("\(file.path): \(error.description)") }
        eval()
    }
}

extension GPT2LMHeadModel: GGUFWritableModel {
    public func ggufName(of parameter: String) -> String? {
        if let g = Self.ggufGlobalNames.first(where: { $0.lmkit == parameter }) { return g.gguf }
        let parts = parameter.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "transformer", parts[1] == "h", let i = Int(parts[2]),
            let l = Self.ggufLayerNames.first(where: { $0.lmkit == parts[3] })
        else { return nil }
        return "blk.\(i).\(l.gguf)"
    }

    /// `gpt2` metadata and every weight under its GGUF name, in convert_hf_to_gguf.py's order.
    public func ggufContents() throws(ModelError) -> (
        metadata: [(key: String, value: GGUFValue)], tensors: [(name: String, tensor: Tensor)]
    ) {
        guard config.activation != "gelu" else {
            throw ModelError("GPT-2 with exact GELU: llama.cpp's gpt2 graph uses the tanh approximation (gelu_new)")
        }
        let metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("gpt2")), ("gpt2.context_length", .uint32(UInt32(config.contextLength))),
            ("gpt2.embedding_length", .uint32(UInt32(config.width))),
            ("gpt2.feed_forward_length", .uint32(UInt32(config.innerWidth ?? 4 * config.width))),
            ("gpt2.block_count", .uint32(UInt32(config.layers))), ("gpt2.attention.head_count", .uint32(UInt32(config.heads))),
            ("gpt2.attention.layer_norm_epsilon", .float32(Float(config.layerNormEpsilon))),
        ]
        var weights = stateDict()
        var names = Self.ggufGlobalNames.prefix(2).map { ($0.lmkit, $0.gguf) }
        for i in 0..<config.layers { names += Self.ggufLayerNames.map { ("transformer.h.\(i).\($0.lmkit)", "blk.\(i).\($0.gguf)") } }
        names += Self.ggufGlobalNames.suffix(3).map { ($0.lmkit, $0.gguf) }
        var tensors: [(name: String, tensor: Tensor)] = []
        for (lmkit, gguf) in names {
            guard let t = weights.removeValue(forKey: lmkit) else { continue }
            tensors.append((gguf, t.converted(to: .float32)))
        }
        if let left = weights.keys.sorted().first { throw ModelError("GPT-2 weight \(left) has no GGUF name") }
        return (metadata, tensors)
    }
}

extension GPT2LMHeadModel: QuantizedDecoder {
    /// None: GGUF weights are expanded to float32 (``init(gguf:)``).
    public var quantized: [String: QuantizedMatrix] { [:] }
}
