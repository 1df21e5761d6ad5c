import Foundation
import LMKitNN
import LMKitTensor

/// How GPT-2 checkpoints differ from LMKit's modules, in one place: every key and weight
/// transform between a Hugging Face `GPT2LMHeadModel` file and ``GPT2LMHeadModel``.
public enum GPT2Checkpoint {
    /// GPT-2 was written with `Conv1D` layers, which store weights as `[in, out]`; LMKit's `Linear`
    /// (like PyTorch's) stores `[out, in]`. These weights are transposed on the way in and out.
    public static let conv1DSuffixes = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]
    /// Buffers older checkpoints carry (the causal mask), not parameters.
    public static let bufferSuffixes = [".attn.bias", ".attn.masked_bias"]
    /// Checkpoints of `GPT2Model` (OpenAI's `gpt2` repository) have no `transformer.` prefix.
    public static let prefixedRoots = ["wte.", "wpe.", "h.", "ln_f."]

    /// Hugging Face tensors → LMKit parameter names and layouts.
    public static func fromHuggingFace(_ tensors: [String: Tensor], tied: Bool) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, t) in tensors {
            if bufferSuffixes.contains(where: { key.hasSuffix($0) }) { continue }
            if key == "lm_head.weight" && tied { continue }  // the same matrix as transformer.wte.weight
            let name = prefixedRoots.contains(where: { key.hasPrefix($0) }) ? "transformer." + key : key
            out[name] = conv1DSuffixes.contains(where: { name.hasSuffix($0) }) && t.rank == 2 ? t.transposed().contiguous() : t
        }
        return out
    }

    /// LMKit parameters → the tensors a Hugging Face `model.safetensors` holds.
    public static func toHuggingFace(_ parameters: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, t) in parameters {
            out[name] = conv1DSuffixes.contains(where: { name.hasSuffix($0) }) ? t.transposed().contiguous() : t
        }
        return out
    }
}

extension GPT2LMHeadModel {
    /// Loads a Hugging Face model folder: `config.json` and `model.safetensors` (or shards listed in
    /// `model.safetensors.index.json`). Loading is strict: every missing, unexpected or mis-shaped
    /// key is named.
    public convenience init(folder: String) throws {
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath) else { throw ModelError("\(configPath): cannot read the file") }
        let config: GPT2Config
        do { config = try JSONDecoder().decode(GPT2Config.self, from: data) } catch {
            throw ModelError("\(configPath): not a GPT-2 config (\(error))")
        }
        try self.init(config)
        let tensors = try ModelFolder.tensors(in: folder)
        do {
            try load(GPT2Checkpoint.fromHuggingFace(tensors, tied: config.tieWordEmbeddings))
        } catch {
            throw ModelError("\(folder): \(error.description)")
        }
    }

    /// Writes a Hugging Face model folder (`config.json`, `model.safetensors`) that `transformers`
    /// loads as a `GPT2LMHeadModel`. Files are written atomically.
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config = self.config
        config.architectures = ["GPT2LMHeadModel"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(config)), to: (folder as NSString).appendingPathComponent("config.json"))
        try SafetensorsFile.write(
            GPT2Checkpoint.toHuggingFace(stateDict()), metadata: ["format": "pt"],
            to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }
}
