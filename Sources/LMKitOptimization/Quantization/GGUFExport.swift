// `lmkit quantize`: a decoder LMKit loads (a Hugging Face or LMKit model folder, or a GGUF file to
// re-quantize) written as a GGUF v3 file llama.cpp runs: llama.cpp's names and metadata, the
// tokenizer (converted from tokenizer.json, or copied from the source GGUF), the chat template, and
// each weight in the chosen type (ggml's reference quantizers, ``GGMLQuantizer``).
import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// Writes a model as a GGUF file in a chosen type.
public struct GGUFExport {
    /// The type of most matrices (`--type`).
    public var type: GGMLType
    /// The output layer's type (`--output-type`); nil: the type, or Q8_0 below 8 bits (llama.cpp
    /// keeps the output layer at higher precision: it weighs most on quality).
    public var outputType: GGMLType?
    /// The token embedding's type (`--embedding-type`); nil: the type, or the output layer's when the
    /// two are tied (Gemma).
    public var embeddingType: GGMLType?
    /// Per-tensor types by regular expression on GGUF names, first match wins (`--tensor-type REGEX=TYPE`).
    public var overrides: [(pattern: String, type: GGMLType)] = []

    /// What was written.
    public struct Summary: Codable, Sendable {
        /// The file written.
        public let out: String
        /// `general.architecture`.
        public let architecture: String
        /// The main type's name (`Q8_0`).
        public let type: String
        /// Tensors per stored type name.
        public let tensorsByType: [String: Int]
        /// Matrices whose rows do not fill the type's blocks, stored as F16 instead.
        public let fallbacks: [String]
        /// Weights in the file.
        public let parameters: Int
        /// File size in bytes.
        public let bytes: Int
        /// Bits per weight over the whole file.
        public let bitsPerWeight: Double
        /// Seconds to load, convert and write.
        public let seconds: Double
    }

    /// An export to `type`.
    public init(type: GGMLType) { self.type = type }

    /// llama.cpp's `general.file_type` (`llama_ftype`) of each main type.
    static let fileTypes: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .q5_0: 8, .q5_1: 9, .bf16: 32]

    /// The type `name` (a GGUF tensor name of `shape`) is stored in; `tied`: the token embedding is
    /// also the output layer (no `output.weight`), and is kept as the output layer is.
    func storedType(_ name: String, shape: [Int], tied: Bool) -> GGMLType {
        if shape.count < 2 || name == "rope_freqs.weight" { return .f32 }
        for (pattern, t) in overrides where name.range(of: pattern, options: .regularExpression) != nil { return t }
        let output = outputType ?? ([.f32, .f16, .bf16, .q8_0].contains(type) ? type : .q8_0)
        if name == "output.weight" { return output }
        if name == "token_embd.weight" { return embeddingType ?? (tied ? output : type) }
        return type
    }

    /// Writes `model` (a model folder, a GGUF file, or `gemma`) to `out`. A GGUF source is re-quantized
    /// tensor by tensor, straight from its mapping: its metadata and names are already llama.cpp's.
    public func write(model path: String, to out: String) throws -> Summary {
        let start = Date()
        try checkTypes()
        if path == "gemma" || path.lowercased().hasSuffix(".gguf") {
            return try requantize(GGUFFile(path: path == "gemma" ? try AssetStore().path(.gemma) : path), to: out, start: start)
        }
        let loaded = try ModelLoader.load(path, activations: .float32, keepQuantized: false)
        return try write(loaded, source: path, to: out, start: start)
    }

    func checkTypes() throws {
        for t in [type, outputType, embeddingType].compactMap({ $0 }) + overrides.map(\.type) where !GGMLQuantizer.writable.contains(t) {
            throw ModelError("LMKit writes \(GGMLQuantizer.writable.map(\.name).joined(separator: ", ")), not \(t.name)")
        }
    }

    /// One tensor to write: its GGUF name, PyTorch-order shape, and its values (as float32, or as the
    /// bytes of a type, copied when that is the type it is written in).
    struct SourceTensor {
        let name: String
        let shape: [Int]
        let stored: (type: GGMLType, bytes: UnsafeRawBufferPointer)?
        let floats: () throws -> Tensor
    }

    /// Writes a loaded model (float weights: loaded with `keepQuantized: false`, adapters merged)
    /// to `out`; `source` is the path it was loaded from, whose tokenizer goes into the file.
    public func write(_ loaded: LoadedModel, source path: String, to out: String, start: Date = Date()) throws -> Summary {
        try checkTypes()
        guard let model = loaded.model as? any GGUFWritableModel else {
            throw ModelError("\(path): LMKit writes GGUF files of the Llama family and Gemma 3, not this model")
        }
        let (architecture, tensors) = try model.ggufContents()
        var metadata = architecture
        metadata.insert(("general.name", .string(loaded.name)), at: 1)
        metadata.insert(("general.file_type", .uint32(Self.fileTypes[type] ?? 0)), at: 2)
        metadata.insert(("general.quantization_version", .uint32(2)), at: 3)
        metadata += try tokenizerMetadata(path, loaded: loaded)
        let sources = tensors.map { name, tensor in SourceTensor(name: name, shape: tensor.shape, stored: nil, floats: { tensor }) }
        return try write(metadata: metadata, tensors: sources, source: path, to: out, start: start)
    }

    /// A GGUF file in another type: its metadata copied key by key (with the new file type), each
    /// tensor dequantized and quantized again one at a time (copied when its type does not change).
    func requantize(_ file: GGUFFile, to out: String, start: Date) throws -> Summary {
        var metadata: [(key: String, value: GGUFValue)] = []
        for (key, value) in file.metadata where key != "general.file_type" && key != "general.quantization_version" {
            guard let t = file.metadataTypes[key], let v = GGUFValue(value, type: t.type, elementType: t.elementType) else {
                throw ModelError("\(file.path): metadata \(key) cannot be copied")
            }
            metadata.append((key, v))
        }
        let at = min(metadata.count, metadata.firstIndex { !$0.key.hasPrefix("general.") } ?? metadata.count)
        metadata.insert(
            contentsOf: [("general.file_type", .uint32(Self.fileTypes[type] ?? 0)), ("general.quantization_version", .uint32(2))], at: at)
        var sources: [SourceTensor] = []
        for info in file.tensors {
            let data = try file.data(info)
            guard data.type.isSupported else {
                throw ModelError("\(file.path): tensor \(info.name) is \(data.type.name), which LMKit cannot read")
            }
            sources.append(
                SourceTensor(name: info.name, shape: data.shape, stored: (data.type, data.bytes), floats: { try file.floats(info.name) }))
        }
        return try withExtendedLifetime(file) { try write(metadata: metadata, tensors: sources, source: file.path, to: out, start: start) }
    }

    /// Writes the tensors in their types (``storedType(_:shape:tied:)``), checking each is finite.
    func write(metadata: [(key: String, value: GGUFValue)], tensors: [SourceTensor], source path: String, to out: String, start: Date)
        throws
        -> Summary
    {
        let arch =
            metadata.first { $0.key == "general.architecture" }.flatMap { if case .string(let s) = $0.value { s } else { nil } } ?? "?"
        var writer = GGUFWriter()
        writer.metadata = metadata
        var counts: [String: Int] = [:], fallbacks: [String] = [], parameters = 0
        let tied = !tensors.contains { $0.name == "output.weight" }
        for source in tensors {
            var t = storedType(source.name, shape: source.shape, tied: tied)
            if source.shape.last! % t.blockSize != 0 {
                fallbacks.append(source.name)
                t = .f16
            }
            counts[t.name, default: 0] += 1
            parameters += source.shape.reduce(1, *)
            writer.addTensor(source.name, shape: source.shape, type: t) {
                func quantize(_ x: UnsafeBufferPointer<Float>) throws -> [UInt8] {
                    guard x.allSatisfy(\.isFinite) else {
                        throw ModelError("\(path): weight \(source.name) holds NaN or infinity; it cannot be quantized")
                    }
                    return GGMLQuantizer.quantize(x, as: t)
                }
                if let stored = source.stored {
                    if stored.type == t { return Array(stored.bytes) }
                    // Float32 weights are read in place, from the mapping.
                    if stored.type == .f32 { return try quantize(stored.bytes.assumingMemoryBound(to: Float.self)) }
                }
                return try source.floats().withUnsafeScalars(Float.self) { try quantize($0) }
            }
        }
        try writer.write(to: out)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        return Summary(
            out: out, architecture: arch, type: type.name, tensorsByType: counts, fallbacks: fallbacks, parameters: parameters,
            bytes: bytes,
            bitsPerWeight: parameters > 0 ? Double(bytes * 8) / Double(parameters) : 0, seconds: Date().timeIntervalSince(start))
    }

    /// The tokenizer's `tokenizer.*` keys: copied with their types from a GGUF source; converted from
    /// a folder's tokenizer.json (``Tokenizer/ggufMetadata(tokenizerJSON:config:source:)``), with its
    /// chat template.
    func tokenizerMetadata(_ path: String, loaded: LoadedModel) throws -> [(key: String, value: GGUFValue)] {
        if loaded.isGGUF {
            let file = try GGUFFile(path: path == "gemma" ? try AssetStore().path(.gemma) : path)
            return try file.metadata.filter { $0.key.hasPrefix("tokenizer.") }.map { key, value in
                guard let t = file.metadataTypes[key], let v = GGUFValue(value, type: t.type, elementType: t.elementType) else {
                    throw ModelError("\(path): metadata \(key) cannot be copied")
                }
                return (key, v)
            }
        }
        guard let json = FileManager.default.contents(atPath: path + "/tokenizer.json") else {
            throw ModelError("\(path): no tokenizer.json (a GGUF file needs the tokenizer; LMKit converts tokenizer.json)")
        }
        let config = FileManager.default.contents(atPath: path + "/tokenizer_config.json")
        var out = try Tokenizer.ggufMetadata(tokenizerJSON: json, config: config, source: path + "/tokenizer.json")
        if let template = try ChatTemplate.load(folder: path) { out.append(("tokenizer.chat_template", .string(template.source))) }
        return out
    }
}
