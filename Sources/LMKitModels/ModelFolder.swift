import Foundation
import LMKitTensor

/// The weight files of a Hugging Face model folder.
public enum ModelFolder {
    /// Every tensor of `model.safetensors`, or of the shards named by `model.safetensors.index.json`.
    public static func tensors(in folder: String) throws -> [String: Tensor] {
        let single = (folder as NSString).appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single) { return try SafetensorsFile(path: single).tensors() }
        let indexPath = (folder as NSString).appendingPathComponent("model.safetensors.index.json")
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw ModelError(
                "\(folder): no model.safetensors or model.safetensors.index.json (PyTorch .bin files are not read: convert them to safetensors)"
            )
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let map = root["weight_map"] as? [String: String]
        else {
            throw ModelError("\(indexPath): expected {\"weight_map\": {tensor: file}}")
        }
        var out: [String: Tensor] = [:]
        for file in Set(map.values).sorted() {
            guard !file.contains("/"), !file.hasPrefix(".") else {
                throw ModelError("\(indexPath): shard name \"\(file)\" is not a file in the folder")
            }
            let shard = try SafetensorsFile(path: (folder as NSString).appendingPathComponent(file))
            for name in shard.names where map[name] == file { out[name] = try shard.tensor(name) }
        }
        let missing = Set(map.keys).subtracting(out.keys)
        guard missing.isEmpty else {
            throw ModelError("\(indexPath): tensors listed but not in their shard: \(missing.sorted().prefix(5).joined(separator: ", "))")
        }
        return out
    }
}
