import Foundation
import LMKitTensor

/// peft's adapter folder: `adapter_config.json` (``LoRAConfig``) and `adapter_model.safetensors`
/// (the adapters' tensors under `base_model.model.<layer>.lora_A.weight` / `lora_B.weight`). peft's
/// `PeftModel.from_pretrained(base, folder)` loads what ``save(folder:)`` writes, and
/// ``init(folder:attachingTo:)`` loads what peft's `save_pretrained` writes.
extension LoRAAdapters {
    /// Writes `adapter_config.json` and `adapter_model.safetensors` into `folder` (created if
    /// needed), each atomically. The config lists the adapted layer names as `target_modules`.
    public func save(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var c = config
        if case .allLinear = c.targets { c.targets = .names(targetNames) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(c)), to: folder + "/adapter_config.json")
        var tensors: [String: Tensor] = [:]
        for (name, p) in namedParameters() { tensors[name] = p.value.detached().contiguous() }
        try SafetensorsFile.write(tensors, metadata: ["format": "pt"], to: folder + "/adapter_model.safetensors")
    }

    /// Loads the adapter in `folder` onto `model`: the layers its config targets get adapters of the
    /// saved ranks, filled with the saved tensors. Loading is strict: a tensor with no layer, a
    /// layer with no tensor, or a shape that differs is an error naming each key, and the model is
    /// left without adapters.
    public convenience init(folder: String, attachingTo model: Module) throws {
        let configPath = folder + "/adapter_config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw LoRAError(
                "\(folder): no adapter_config.json (a LoRA adapter folder holds adapter_config.json and adapter_model.safetensors)")
        }
        let config: LoRAConfig
        do { config = try JSONDecoder().decode(LoRAConfig.self, from: data) } catch {
            throw LoRAError("\(configPath): not a LoRA adapter config (\(LoRAAdapters.describe(error)))")
        }
        let weightsPath = folder + "/adapter_model.safetensors"
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let hint =
                FileManager.default.fileExists(atPath: folder + "/adapter_model.bin")
                ? " (adapter_model.bin is a pickle: save it with safe_serialization=True)" : ""
            throw LoRAError("\(folder): no adapter_model.safetensors\(hint)")
        }
        let tensors = try SafetensorsFile(path: weightsPath).tensors()
        try self.init(attachingTo: model, config: config)
        do {
            try load(tensors.mapValues { $0 })
        } catch {
            detach()
            throw LoRAError("\(weightsPath): \(error.description)")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let c)?: return c.debugDescription
        case .keyNotFound(let key, _)?: return "missing key \(key.stringValue)"
        case .typeMismatch(_, let c)?: return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
