import Foundation
import LMKitNN
import LMKitTensor

/// Which class loads a model: one table, by a folder's `config.json` `model_type` and by a GGUF
/// file's `general.architecture`. The command, the server, the tour and the benchmarks load models
/// through it; a new family is one more entry.
///
/// ```swift
/// let model = try ModelRegistry.load(folder: "SmolLM2-135M")          // model_type "llama"
/// let decoder = try ModelRegistry.load(gguf: GGUFFile(path: "gemma-3-270m.gguf"))
/// ```
public enum ModelRegistry {
    /// One family of models and how to load it.
    public struct Entry: Sendable {
        /// The family's name in messages and listings.
        public let name: String
        /// `model_type` values of `config.json`.
        public let modelTypes: [String]
        /// `general.architecture` values of GGUF files (empty: LMKit reads no GGUF file of this family).
        public let ggufArchitectures: [String]
        let loadFolder: @Sendable (String) throws -> any CausalLanguageModel
        let loadGGUF: (@Sendable (GGUFFile, _ keepQuantized: Bool) throws(ModelError) -> any QuantizedDecoder)?
    }

    /// A ``CausalDecoder`` family: folders and GGUF files.
    static func decoder<F: DecoderFamily>(_ family: F.Type) -> Entry {
        Entry(
            name: F.displayName, modelTypes: F.modelTypes, ggufArchitectures: F.ggufArchitectures,
            loadFolder: { try CausalDecoder<F>.load(folder: $0) },
            loadGGUF: { file, keep throws(ModelError) in try CausalDecoder<F>.load(gguf: file, keepQuantized: keep) })
    }

    /// A family read from folders only, by its `init(folder:)`, in evaluation mode.
    static func folders<M: Module & CausalLanguageModel>(
        _ name: String, _ modelTypes: [String], _ load: @escaping @Sendable (String) throws -> M
    )
        -> Entry
    {
        Entry(
            name: name, modelTypes: modelTypes, ggufArchitectures: [],
            loadFolder: { folder in
                let model = try load(folder)
                model.eval()
                return model
            }, loadGGUF: nil)
    }

    /// Every family LMKit loads.
    public static let entries: [Entry] = [
        Entry(
            name: "GPT-2", modelTypes: ["gpt2"], ggufArchitectures: ["gpt2"],
            loadFolder: { folder in
                let model = try GPT2LMHeadModel(folder: folder)
                model.eval()
                return model
            },
            loadGGUF: { file, _ throws(ModelError) in try GPT2LMHeadModel(gguf: file) }),
        decoder(LlamaConfig.self),
        decoder(Gemma3Config.self),
        folders("LMKit recurrent", ["lmkit_recurrent"]) { try RecurrentLanguageModel(folder: $0) },
    ]

    /// Every `model_type` a folder may have.
    public static var modelTypes: [String] { entries.flatMap(\.modelTypes) }

    /// Every GGUF architecture LMKit runs.
    public static var ggufArchitectures: [String] { entries.flatMap(\.ggufArchitectures) }

    /// The `model_type` of a folder's `config.json` (nil when it has none).
    public static func modelType(folder: String) throws(ModelError) -> String? {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(folder): no config.json there (a model folder has config.json and model.safetensors)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(path): not a JSON object")
        }
        return root["model_type"] as? String
    }

    /// Loads a model folder (`config.json`, `model.safetensors` or shards), in evaluation mode.
    public static func load(folder: String) throws(ModelError) -> any CausalLanguageModel {
        let type = try modelType(folder: folder)
        guard let entry = entries.first(where: { $0.modelTypes.contains(type ?? "") }) else {
            throw ModelError(
                "\(folder): model_type \(type.map { "\"\($0)\"" } ?? "missing") is not supported (\(modelTypes.joined(separator: ", ")))")
        }
        do { return try entry.loadFolder(folder) } catch let error as ModelError { throw error } catch {
            throw ModelError("\(folder): \(error)")
        }
    }

    /// Loads a GGUF file's decoder, weights kept quantized with `activations` for their products, or
    /// expanded to float32 parameters (`keepQuantized` false: a model to fine-tune whole).
    public static func load(gguf file: GGUFFile, activations: QuantizedMatrix.Activations = .int8, keepQuantized: Bool = true)
        throws(ModelError) -> any QuantizedDecoder
    {
        let arch = file["general.architecture"]?.string ?? "missing"
        guard let load = entries.first(where: { $0.ggufArchitectures.contains(arch) })?.loadGGUF else {
            throw ModelError(
                "\(file.path): general.architecture \(arch) is not supported (LMKit runs \(ggufArchitectures.joined(separator: ", ")) GGUF files)"
            )
        }
        let model = try load(file, keepQuantized)
        model.quantizedActivations = activations
        return model
    }
}
