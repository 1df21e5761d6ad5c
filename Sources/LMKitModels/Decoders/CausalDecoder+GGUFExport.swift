// The weights of a decoder as a GGUF file holds them: llama.cpp's tensor names, its layouts (Llama's
// permuted query/key rows, Gemma's 1 + w norms), and the hyperparameter metadata of its architecture.
// The inverse of `load(gguf:)`; the file itself is written by LMKitOptimization's GGUF export.
import LMKitNN
import LMKitTensor

/// A model whose weights and hyperparameters a GGUF file can hold (``CausalDecoder``).
public protocol GGUFWritableModel {
    /// The architecture's metadata and every tensor under its GGUF name, float32, in file order.
    func ggufContents() throws(ModelError) -> (metadata: [(key: String, value: GGUFValue)], tensors: [(name: String, tensor: Tensor)])
    /// The GGUF name of the weight the model calls `parameter` (`model.layers.3.mlp.down_proj.weight`
    /// → `blk.3.ffn_down.weight`), nil for one a GGUF file does not hold under a name of its own.
    func ggufName(of parameter: String) -> String?
}

extension CausalDecoder: GGUFWritableModel {
    public func ggufName(of parameter: String) -> String? {
        switch parameter {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = parameter.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let i = Int(parts[2]),
            let gguf = Family.ggufLayerNames.first(where: { $0.hf == parts[3] })?.gguf
        else { return nil }
        return "blk.\(i).\(gguf)"
    }

    /// Token embedding, layers in order, output norm and output layer (absent when tied), then what
    /// the family adds; every weight of the model must have a GGUF name.
    public func ggufContents() throws(ModelError) -> (
        metadata: [(key: String, value: GGUFValue)], tensors: [(name: String, tensor: Tensor)]
    ) {
        let metadata = try config.ggufMetadata()
        var weights = floatWeights()
        var names: [(hf: String, gguf: String)] = [("model.embed_tokens.weight", "token_embd.weight")]
        for i in 0..<config.layers {
            names += Family.ggufLayerNames.map { ("model.layers.\(i).\($0.hf)", "blk.\(i).\($0.gguf)") }
        }
        names += [("model.norm.weight", "output_norm.weight"), ("lm_head.weight", "output.weight")]
        var tensors: [(name: String, tensor: Tensor)] = []
        for (hf, gguf) in names {
            guard let t = weights.removeValue(forKey: hf) else { continue }
            tensors.append((gguf, config.toGGUF(t.converted(to: .float32), key: hf)))
        }
        if let left = weights.keys.sorted().first {
            throw ModelError("\(Family.displayName) weight \(left) has no GGUF name (\(weights.count) such weights)")
        }
        return (metadata, tensors + config.ggufExtraTensors())
    }
}
