// `lmkit quantize`: a decoder LMKit loads (a Hugging Face or LMKit model folder, or a GGUF file to
// re-quantize) written as a GGUF v3 file llama.cpp runs: llama.cpp's names and metadata, the
// tokenizer (converted from tokenizer.json, or copied from the source GGUF), the chat template, and
// each weight in the type llama-quantize would choose for it under the preset (``QuantizationPreset``),
// by ggml's reference quantizers (``GGMLQuantizer``), optionally weighted by an importance matrix.
import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// Writes a model as a GGUF file in a chosen type.
public struct GGUFExport {
    /// The model's quantization type (`--type`): the main type and llama.cpp's mix around it.
    public var preset: QuantizationPreset
    /// Every matrix in the preset's main type, no mix (llama-quantize `--pure`).
    public var pure = false
    /// The output layer's type (`--output-type`); nil: llama.cpp's choice (Q6_K below 8 bits, Q8_0
    /// when its rows do not fill 256-weight blocks: the output layer weighs most on quality).
    public var outputType: GGMLType?
    /// The token embedding's type (`--embedding-type`); nil: the main type, or the output layer's
    /// when the two are tied (Gemma).
    public var embeddingType: GGMLType?
    /// Per-tensor types by regular expression on GGUF names, first match wins (`--tensor-type REGEX=TYPE`).
    public var overrides: [(pattern: String, type: GGMLType)] = []
    /// An importance matrix whose E[x²] weigh each column's error (`--imatrix`); matrices without an
    /// entry are quantized unweighted.
    public var importance: ImportanceMatrix?

    /// What was written.
    public struct Summary: Codable, Sendable {
        /// The file written.
        public let out: String
        /// `general.architecture`.
        public let architecture: String
        /// The preset's name (`Q4_K_M`).
        public let type: String
        /// Tensors per stored type name.
        public let tensorsByType: [String: Int]
        /// Matrices whose rows do not fill the chosen type's blocks, stored in another type (as llama.cpp
        /// does: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16).
        public let fallbacks: [String]
        /// Matrices quantized under the importance matrix.
        public let weightedByImportance: Int
        /// Weights in the file.
        public let parameters: Int
        /// File size in bytes.
        public let bytes: Int
        /// Bits per weight over the whole file.
        public let bitsPerWeight: Double
        /// Seconds to load, convert and write.
        public let seconds: Double
    }

    /// An export under `preset`.
    public init(preset: QuantizationPreset) { self.preset = preset }

    /// An export whose main type is `type` (the medium mix for Q4_K and Q5_K).
    public init(type: GGMLType) { preset = QuantizationPreset.all.first { $0.base == type }! }

    /// The plan that decides each tensor's type.
    func plan(metadata: [(key: String, value: GGUFValue)]) -> TensorTypePlan {
        func value(_ key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }
        var plan = TensorTypePlan(preset: preset)
        (plan.pure, plan.outputType, plan.embeddingType, plan.overrides) = (pure, outputType, embeddingType, overrides)
        plan.hasImportance = importance != nil
        if case .string("llama") = value("general.architecture"), case .uint32(80) = value("llama.block_count"),
            case .uint32(let heads) = value("llama.attention.head_count"), case .uint32(let kv) = value("llama.attention.head_count_kv")
        {
            plan.isLlama70B = heads != kv
        }
        return plan
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
        for t in [preset.base, outputType, embeddingType].compactMap({ $0 }) + overrides.map(\.type)
        where !GGMLQuantizer.writable.contains(t) {
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
            throw ModelError("\(path): LMKit writes GGUF files of GPT-2, the Llama family and Gemma 3, not this model")
        }
        let (architecture, tensors) = try model.ggufContents()
        var metadata = architecture
        metadata.insert(("general.name", .string(loaded.name)), at: 1)
        metadata.insert(("general.file_type", .uint32(preset.fileType)), at: 2)
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
            contentsOf: [("general.file_type", .uint32(preset.fileType)), ("general.quantization_version", .uint32(2))], at: at)
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

    /// Writes the tensors in their planned types (``TensorTypePlan``), checking each is finite.
    func write(metadata: [(key: String, value: GGUFValue)], tensors: [SourceTensor], source path: String, to out: String, start: Date)
        throws
        -> Summary
    {
        let arch =
            metadata.first { $0.key == "general.architecture" }.flatMap { if case .string(let s) = $0.value { s } else { nil } } ?? "?"
        var writer = GGUFWriter()
        writer.metadata = metadata
        if let importance {
            // What llama-quantize records of its --imatrix (replacing a re-quantized source's).
            writer.metadata.removeAll { $0.key.hasPrefix("quantize.imatrix.") }
            if let path = importance.path { writer.metadata.append(("quantize.imatrix.file", .string(path))) }
            if let dataset = importance.datasets.first { writer.metadata.append(("quantize.imatrix.dataset", .string(dataset))) }
            writer.metadata.append(("quantize.imatrix.entries_count", .uint32(UInt32(importance.entries.count))))
            if importance.chunkCount > 0 {
                writer.metadata.append(("quantize.imatrix.chunks_count", .uint32(UInt32(importance.chunkCount))))
            }
        }
        var counts: [String: Int] = [:], parameters = 0, weighted = 0
        let (types, fallbacks) = plan(metadata: metadata).types(for: tensors.map { ($0.name, $0.shape) })
        for source in tensors {
            let t = types[source.name]!
            counts[t.name, default: 0] += 1
            parameters += source.shape.reduce(1, *)
            var importance: [Float]? = nil
            if GGMLQuantizer.usesImportance.contains(t), let values = self.importance?.values(for: source.name) {
                guard values.count == source.shape.last! else {
                    throw ModelError(
                        "the importance matrix has \(values.count) values for \(source.name), whose rows have \(source.shape.last!)")
                }
                importance = values
                weighted += 1
            }
            writer.addTensor(source.name, shape: source.shape, type: t) {
                func quantize(_ x: UnsafeBufferPointer<Float>) throws -> [UInt8] {
                    guard GGMLQuantizer.allFinite(x) else {
                        throw ModelError("\(path): weight \(source.name) holds NaN or infinity; it cannot be quantized")
                    }
                    guard let importance else { return GGMLQuantizer.quantize(x, as: t) }
                    return importance.withUnsafeBufferPointer { GGMLQuantizer.quantize(x, as: t, importance: $0) }
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
            out: out, architecture: arch, type: preset.name + (pure ? " (pure)" : ""), tensorsByType: counts, fallbacks: fallbacks,
            weightedByImportance: weighted, parameters: parameters,
            bytes: bytes,
            bitsPerWeight: parameters > 0 ? Double(bytes * 8) / Double(parameters) : 0, seconds: Date().timeIntervalSince(start))
    }

    /// GPT-2's original tokenizer files (`vocab.json`, `merges.txt`: what OpenAI's checkpoints and
    /// `lmkit train gpt --tokenizer gpt2` folders hold) as the tokenizer.json transformers would make of
    /// them (byte-level BPE, `<|endoftext|>` special), or nil without them. The vocabulary's bytes are
    /// kept as they are; `config` gets GPT-2's BOS/EOS when the folder has no tokenizer_config.json.
    func byteLevelJSON(_ path: String, config: inout Data?) throws -> Data? {
        guard let vocab = FileManager.default.contents(atPath: path + "/vocab.json"),
            let mergesData = FileManager.default.contents(atPath: path + "/merges.txt")
        else { return nil }
        guard let merges = String(validating: mergesData, as: UTF8.self) else { throw ModelError("\(path)/merges.txt: not valid UTF-8") }
        let lines = merges.split(separator: "\n", omittingEmptySubsequences: true).map(String.init).filter { !$0.hasPrefix("#version") }
        let endOfText = "<|endoftext|>"
        guard let idRange = vocab.range(of: Data("\"\(endOfText)\":".utf8)),
            let id = Int(
                String(decoding: vocab[idRange.upperBound...].prefix { $0 == 0x20 || ($0 >= 0x30 && $0 <= 0x39) }, as: UTF8.self)
                    .trimmingCharacters(in: .whitespaces))
        else { throw ModelError("\(path)/vocab.json: no \(endOfText) (GPT-2's special token)") }
        var json = Data(#"{"model": {"type": "BPE", "vocab": "#.utf8)
        json += vocab
        json += Data(#", "merges": "#.utf8)
        json += try JSONSerialization.data(withJSONObject: lines)
        json += Data(
            #"}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}, "decoder": {"type": "ByteLevel"}, "added_tokens": [{"id": \#(id), "content": "\#(endOfText)", "special": true, "single_word": false, "lstrip": false, "rstrip": false, "normalized": true}]}"#
                .utf8)
        if config == nil { config = Data(#"{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}"#.utf8) }
        return json
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
        var config = FileManager.default.contents(atPath: path + "/tokenizer_config.json")
        guard let json = try FileManager.default.contents(atPath: path + "/tokenizer.json") ?? byteLevelJSON(path, config: &config) else {
            throw ModelError(
                "\(path): no tokenizer.json, nor GPT-2's vocab.json and merges.txt (a GGUF file needs the tokenizer; LMKit converts them)")
        }
        var out = try Tokenizer.ggufMetadata(tokenizerJSON: json, config: config, source: path + "/tokenizer.json")
        if let template = try ChatTemplate.load(folder: path) { out.append(("tokenizer.chat_template", .string(template.source))) }
        return out
    }
}
