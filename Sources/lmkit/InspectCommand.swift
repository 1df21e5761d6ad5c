import ArgumentParser
import Foundation
import LMKitTensor
import LMKitTour

/// `lmkit inspect`: what a model file holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model file's metadata and tensor table: GGUF files, safetensors files, Hugging Face folders.",
        discussion: """
            A GGUF file shows its version, alignment, every metadata key (long arrays such as vocabularies are
            summarized) and every tensor with its type, shape, size and offset; every tensor's bytes are
            checked to lie inside the file. A safetensors file, or a folder with model.safetensors (or shards
            listed in model.safetensors.index.json) and config.json, shows the config's model type and
            architectures and every tensor. Shapes are in PyTorch order (rows first); GGUF lists the same
            dimensions the other way round.

            --json prints {"format": "gguf" | "safetensors", "path": String, "version": Int?, "alignment": Int?,
            "metadata": {key: value}, "config": {key: value}?, "tensors": [{"name": String, "type": String,
            "shape": [Int], "bytes": Int, "offset": Int?, "file": String?}], "parameters": Int, "bytes": Int,
            "types": {type: parameters}}. Arrays longer than --max-array become {"array": length, "head": [first values]}.
            """)

    @Argument(help: "A .gguf file, a .safetensors file, or a Hugging Face model folder.") var path: String
    @Option(help: "Metadata arrays longer than this are summarized.") var maxArray = 16
    @Flag(help: "Only the summary and metadata, not the tensor table.") var noTensors = false
    @Flag(help: "Print JSON.") var json = false

    /// A JSON value of the report.
    enum Value: Encodable {
        case int(Int64), uint(UInt64), double(Double), bool(Bool), string(String), array([Value]), object([String: Value]), null
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .int(let v): try c.encode(v)
            case .uint(let v): try c.encode(v)
            case .double(let v): try c.encode(v)
            case .bool(let v): try c.encode(v)
            case .string(let v): try c.encode(v)
            case .array(let v): try c.encode(v)
            case .object(let v): try c.encode(v)
            case .null: try c.encodeNil()
            }
        }
    }

    struct TensorRow: Encodable {
        let name: String; let type: String; let shape: [Int]; let bytes: Int; let offset: Int?; let file: String?
    }
    struct Report: Encodable {
        let format: String; let path: String; let version: Int?; let alignment: Int?
        let metadata: [String: Value]; let config: [String: Value]?
        let tensors: [TensorRow]; let parameters: Int; let bytes: Int; let types: [String: Int]
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or folder")
        }
        let report =
            try isDirectory.boolValue ? folderReport() : (isGGUF(path) ? ggufReport() : safetensorsReport(files: [path], config: nil))
        if json {
            return try printJSON(
                noTensors
                    ? Report(
                        format: report.format, path: report.path, version: report.version, alignment: report.alignment,
                        metadata: report.metadata, config: report.config, tensors: [],
                        parameters: report.parameters, bytes: report.bytes, types: report.types) : report)
        }
        print(
            "\(report.path): \(report.format)" + (report.version.map { " version \($0)" } ?? "")
                + (report.alignment.map { ", alignment \($0)" } ?? ""))
        print("\(report.tensors.count) tensors, \(Self.count(report.parameters)) parameters, \(Self.size(report.bytes))")
        print("by type: " + report.types.sorted { $0.value > $1.value }.map { "\($0.key) \(Self.count($0.value))" }.joined(separator: ", "))
        for (title, values) in [("config", report.config ?? [:]), ("metadata", report.metadata)] where !values.isEmpty {
            print("\n\(title):")
            let width = min(48, values.keys.map(\.count).max() ?? 0)
            for key in values.keys.sorted() { print("  \(key.padding(width))  \(Self.text(values[key]!))") }
        }
        if noTensors { return }
        print("\ntensors:")
        let nameWidth = min(56, report.tensors.map(\.name.count).max() ?? 0)
        for t in report.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print(
                "  \(t.name.padding(nameWidth))  \(t.type.padding(5))  \(shape.padding(16))  \(Self.size(t.bytes).padding(9))"
                    + (t.file.map { "  \($0)" } ?? ""))
        }
    }

    func isGGUF(_ file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        return handle.readData(ofLength: 4) == Data("GGUF".utf8)
    }

    func ggufReport() throws -> Report {
        let file = try GGUFFile(path: path)
        var metadata: [String: Value] = [:]
        for (key, value) in file.metadata { metadata[key] = convert(value) }
        var rows: [TensorRow] = []
        var types: [String: Int] = [:]
        var parameters = 0, bytes = 0
        for info in file.tensors {
            let d = try file.data(info)
            let n = info.dimensions.reduce(1, *)
            rows.append(
                TensorRow(
                    name: info.name, type: d.type.name, shape: d.shape, bytes: d.bytes.count, offset: file.dataOffset + info.offset,
                    file: nil))
            types[d.type.name, default: 0] += n
            parameters += n
            bytes += d.bytes.count
        }
        return Report(
            format: "gguf", path: path, version: Int(file.version), alignment: file.alignment, metadata: metadata, config: nil,
            tensors: rows, parameters: parameters, bytes: bytes, types: types)
    }

    func folderReport() throws -> Report {
        let folder = URL(fileURLWithPath: path)
        var config: [String: Value]?
        if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("config.json").path) {
            guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("\(path)/config.json: not a JSON object")
            }
            config = root.compactMapValues(convert(json:))
        }
        let single = folder.appendingPathComponent("model.safetensors").path
        if FileManager.default.fileExists(atPath: single) { return try safetensorsReport(files: [single], config: config) }
        let index = folder.appendingPathComponent("model.safetensors.index.json").path
        guard let data = FileManager.default.contents(atPath: index),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let map = root["weight_map"] as? [String: String]
        else {
            throw ValidationError("\(path): no model.safetensors or model.safetensors.index.json (a .gguf file is inspected directly)")
        }
        return try safetensorsReport(files: Set(map.values).sorted().map { folder.appendingPathComponent($0).path }, config: config)
    }

    func safetensorsReport(files: [String], config: [String: Value]?) throws -> Report {
        var rows: [TensorRow] = []
        var metadata: [String: Value] = [:]
        var types: [String: Int] = [:]
        var parameters = 0, bytes = 0
        for f in files {
            let file = try SafetensorsFile(path: f)
            for (k, v) in file.metadata { metadata[k] = .string(v) }
            for e in file.entries {
                let n = e.shape.reduce(1, *)
                let type = SafetensorsFile.name(of: e.dtype)
                rows.append(
                    TensorRow(
                        name: e.name, type: type, shape: e.shape, bytes: e.range.count, offset: nil,
                        file: files.count > 1 ? (f as NSString).lastPathComponent : nil))
                types[type, default: 0] += n
                parameters += n
                bytes += e.range.count
            }
        }
        return Report(
            format: "safetensors", path: path, version: nil, alignment: nil, metadata: metadata, config: config,
            tensors: rows.sorted { $0.name < $1.name }, parameters: parameters, bytes: bytes, types: types)
    }

    func summarized(_ values: [Value]) -> Value {
        values.count > maxArray
            ? .object(["array": .int(Int64(values.count)), "head": .array(Array(values.prefix(min(maxArray, 8))))]) : .array(values)
    }

    func convert(_ v: GGUFFile.Value) -> Value {
        switch v {
        case .uint(let x): return .uint(x)
        case .int(let x): return .int(x)
        case .float(let x): return .double(x)
        case .bool(let x): return .bool(x)
        case .string(let x): return .string(x)
        case .array(let a): return summarized(a.map(convert))
        case .strings(let a): return summarized(a.map(Value.string))
        case .floats(let a): return summarized(a.map { .double(Double($0)) })
        case .ints(let a): return summarized(a.map(Value.int))
        }
    }

    func convert(json: Any) -> Value? {
        switch json {
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }  // JSON true/false
            return n.doubleValue == n.doubleValue.rounded() && abs(n.doubleValue) < 1e15 ? .int(n.int64Value) : .double(n.doubleValue)
        case let a as [Any]: return summarized(a.compactMap(convert(json:)))
        case let o as [String: Any]: return .object(o.compactMapValues(convert(json:)))
        case is NSNull: return .null
        default: return nil
        }
    }

    static func text(_ v: Value) -> String {
        switch v {
        case .int(let x): return String(x)
        case .uint(let x): return String(x)
        case .double(let x): return Double(Float(x)) == x ? String(Float(x)) : String(x)  // GGUF stores float32
        case .bool(let x): return String(x)
        case .string(let s): return s.count > 100 ? String(s.prefix(97)).debugDescription + "… (\(s.count) characters)" : s.debugDescription
        case .array(let a): return "[" + a.map(text).joined(separator: ", ") + "]"
        case .object(let o):
            if case .int(let n)? = o["array"], case .array(let head)? = o["head"] {
                return "[" + head.map(text).joined(separator: ", ") + ", … (\(n) items)]"
            }
            return "{" + o.keys.sorted().map { "\($0): \(text(o[$0]!))" }.joined(separator: ", ") + "}"
        case .null: return "null"
        }
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000_000
            ? Format.fixed(Double(n) / 1e9, 2) + "B"
            : n >= 1_000_000 ? Format.fixed(Double(n) / 1e6, 1) + "M" : n >= 1000 ? Format.fixed(Double(n) / 1e3, 1) + "K" : String(n)
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20
            ? Format.fixed(Double(bytes) / 1_048_576, 1) + " MiB"
            : bytes >= 1024 ? Format.fixed(Double(bytes) / 1024, 1) + " KiB" : "\(bytes) B"
    }
}
