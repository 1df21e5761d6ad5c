import Foundation
import LMKitNN
import LMKitTensor

extension CausalDecoder {
    /// Loads a Hugging Face folder (`config.json` + `model.safetensors` or shards), strictly: every
    /// missing, unexpected or mis-shaped key is named. A stored `lm_head.weight` of a tied model must
    /// equal the embeddings; multimodal checkpoints keep the text model under `language_model.`.
    public static func load(folder: String) throws(ModelError) -> CausalDecoder {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError("\(path): cannot read the file") }
        let config = try Family(json: data, source: path)
        let model = try CausalDecoder(config, randomInit: false)
        var tensors: [String: Tensor]
        do { tensors = try ModelFolder.tensors(in: folder) } catch let e as ModelError { throw e } catch {
            throw ModelError("\(folder): \(error)")
        }
        if tensors.keys.contains(where: { $0.hasPrefix("language_model.") }) {
            tensors = Dictionary(
                uniqueKeysWithValues: tensors.compactMap { k, v in
                    k.hasPrefix("language_model.") ? (String(k.dropFirst("language_model.".count)), v) : nil
                })
        }
        tensors = tensors.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
        if config.tieWordEmbeddings, let head = tensors.removeValue(forKey: "lm_head.weight"),
            head.scalars(as: Float.self) != tensors["model.embed_tokens.weight"]?.scalars(as: Float.self)
        {
            throw ModelError("\(folder): lm_head.weight differs from the embeddings but the output layer is tied to them")
        }
        do { try model.load(tensors) } catch { throw ModelError("\(folder): \(error.description)") }
        model.eval()
        return model
    }

    /// Writes a Hugging Face folder (`config.json`, `model.safetensors` in float32, quantized
    /// matrices expanded) that loads back here and in transformers.
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Array(try config.json()), to: (folder as NSString).appendingPathComponent("config.json"))
        try SafetensorsFile.write(
            floatWeights(), metadata: ["format": "pt"], to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }

    /// Loads a GGUF file of this family (llama.cpp's names: `token_embd`, `blk.N.…`, `output_norm`,
    /// `output`). With `keepQuantized` (the default) the matrices stay in their blocks,
    /// memory-mapped from the file, and products run on them; otherwise every weight is expanded to
    /// float32 parameters (for training, or to compare).
    public static func load(gguf file: GGUFFile, keepQuantized: Bool = true) throws(ModelError) -> CausalDecoder {
        let config = try Family(gguf: file)
        var (matrices, tensors) = try ggufWeights(file, config: config)
        let model: CausalDecoder
        if keepQuantized {
            model = try CausalDecoder(config, randomInit: false, quantized: matrices)
        } else {
            model = try CausalDecoder(config, randomInit: false)
            for (name, m) in matrices { tensors[name] = m.dequantized() }
        }
        do { try model.load(tensors) } catch { throw ModelError("\(file.path): \(error.description)") }
        model.eval()
        return model
    }

    /// Loads a GGUF file by path (see ``load(gguf:keepQuantized:)``).
    public static func load(gguf path: String, keepQuantized: Bool = true) throws(ModelError) -> CausalDecoder {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw ModelError("\(error)") }
        return try load(gguf: file, keepQuantized: keepQuantized)
    }

    /// A GGUF file's weights under their Hugging Face names: matrices as stored (quantized,
    /// memory-mapped), every other tensor as float32, each as the family transforms it. Tensors the
    /// file lacks are left to strict loading to name.
    static func ggufWeights(_ file: GGUFFile, config: Family) throws(ModelError) -> (
        matrices: [String: QuantizedMatrix], tensors: [String: Tensor]
    ) {
        var names = [
            ("token_embd.weight", "model.embed_tokens.weight"), ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
        ]
        for i in 0..<config.layers {
            names += Family.ggufLayerNames.map { ("blk.\(i).\($0.gguf)", "model.layers.\(i).\($0.hf)") }
        }
        let stored = Dictionary(file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var matrices: [String: QuantizedMatrix] = [:], tensors: [String: Tensor] = [:]
        do {
            for (gguf, key) in names {
                guard let info = stored[gguf] else { continue }
                if info.dimensions.count == 2 {
                    matrices[key] = config.fromGGUF(try QuantizedMatrix(try file.data(gguf), file: file), key: key)
                } else {
                    tensors[key] = config.fromGGUF(try file.floats(gguf), key: key)
                }
            }
        } catch { throw ModelError("\(error)") }
        return (matrices, tensors)
    }
}
