import LMKitTensor

extension Module {
    /// Writes the parameters to a safetensors file (atomically), keyed by their dotted names, the
    /// format Hugging Face `transformers` reads (`model.safetensors`).
    public func save(to path: String, metadata: [String: String] = ["format": "pt"]) throws(SafetensorsError) {
        try SafetensorsFile.write(stateDict(), metadata: metadata, to: path)
    }

    /// Loads parameters from a safetensors file; see ``load(_:strict:)`` for what strict means.
    /// Throws a `SafetensorsError` for an unreadable file and a ``ModuleLoadError`` naming every key
    /// that does not fit.
    public func load(contentsOf path: String, strict: Bool = true) throws {
        try load(SafetensorsFile(path: path).tensors(), strict: strict)
    }
}
