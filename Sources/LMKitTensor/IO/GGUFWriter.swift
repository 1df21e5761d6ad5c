// Writing GGUF v3 (ggml `docs/gguf.md`): header, typed metadata, the tensor table, padding to the
// alignment, then each tensor's bytes at an aligned offset. Tensors are produced one at a time while
// the file is written (a model is never twice in memory), and the file appears atomically.
import Foundation

/// A GGUF metadata value with its exact type: llama.cpp checks the types of the keys it reads
/// (`uint32` context lengths, an `int32` array of token types, …).
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32), float32(Float), bool(Bool)
    case string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// An array of one element type (its GGUF code: 8 for strings, 5 for int32, 6 for float32, …).
    case array(elementType: UInt32, [GGUFValue])

    /// The GGUF type code.
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// An array of strings (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`).
    public static func strings(_ a: [String]) -> GGUFValue { .array(elementType: 8, a.map { .string($0) }) }
    /// An array of float32 (`tokenizer.ggml.scores`).
    public static func floats(_ a: [Float]) -> GGUFValue { .array(elementType: 6, a.map { .float32($0) }) }
    /// An array of int32 (`tokenizer.ggml.token_type`).
    public static func int32s(_ a: [Int32]) -> GGUFValue { .array(elementType: 5, a.map { .int32($0) }) }

    /// A value read by ``GGUFFile``, in the type it had in that file (``GGUFFile/metadataTypes``);
    /// nil when the value does not fit the type.
    public init?(_ v: GGUFFile.Value, type: UInt32, elementType: UInt32?) {
        func scalar(_ v: GGUFFile.Value, _ t: UInt32) -> GGUFValue? {
            switch (t, v) {
            case (0, .uint(let x)): return UInt8(exactly: x).map { .uint8($0) }
            case (1, .int(let x)): return Int8(exactly: x).map { .int8($0) }
            case (2, .uint(let x)): return UInt16(exactly: x).map { .uint16($0) }
            case (3, .int(let x)): return Int16(exactly: x).map { .int16($0) }
            case (4, .uint(let x)): return UInt32(exactly: x).map { .uint32($0) }
            case (5, .int(let x)): return Int32(exactly: x).map { .int32($0) }
            case (6, .float(let x)): return .float32(Float(x))
            case (7, .bool(let b)): return .bool(b)
            case (8, .string(let s)): return .string(s)
            case (10, .uint(let x)): return .uint64(x)
            case (11, .int(let x)): return .int64(x)
            case (12, .float(let x)): return .float64(x)
            default: return nil
            }
        }
        if type != 9 {
            guard let s = scalar(v, type) else { return nil }
            self = s
            return
        }
        guard let e = elementType else { return nil }
        var items: [GGUFValue] = []
        switch v {
        case .strings(let a): items = a.map { .string($0) }
        case .floats(let a) where e == 6: items = a.map { .float32($0) }
        case .floats(let a) where e == 12: items = a.map { .float64(Double($0)) }
        case .ints(let a):
            for x in a {
                let value: GGUFFile.Value = [1, 3, 5, 11].contains(e) ? .int(x) : .uint(UInt64(bitPattern: x))
                guard let s = scalar(value, e) else { return nil }
                items.append(s)
            }
        case .array(let a):
            for x in a {
                guard let s = scalar(x, e) else { return nil }
                items.append(s)
            }
        default: return nil
        }
        self = .array(elementType: e, items)
    }
}

/// A GGUF file to write: metadata in order, then tensors whose bytes are made when written.
///
/// ```swift
/// var gguf = GGUFWriter()
/// gguf.metadata.append(("general.architecture", .string("llama")))
/// gguf.addTensor("token_embd.weight", shape: [vocab, width], type: .q8_0) { GGMLQuantizer.quantize(floats, as: .q8_0) }
/// try gguf.write(to: "model.gguf")
/// ```
public struct GGUFWriter {
    /// One tensor: its name, PyTorch-order shape, storage type, and a function making its bytes.
    public struct PendingTensor {
        public let name: String
        public let shape: [Int]
        public let type: GGMLType
        let bytes: () throws -> [UInt8]
    }

    /// Key/values in the order they are written (`general.alignment` is honoured when present).
    public var metadata: [(key: String, value: GGUFValue)] = []
    /// The tensors, in file order.
    public private(set) var tensors: [PendingTensor] = []

    /// An empty file.
    public init() {}

    /// Adds a tensor of PyTorch-order `shape` (GGUF stores it reversed) stored as `type`; `bytes` is called
    /// once, while the file is written, and must return exactly the type's byte count for the shape.
    public mutating func addTensor(_ name: String, shape: [Int], type: GGMLType, bytes: @escaping () throws -> [UInt8]) {
        tensors.append(PendingTensor(name: name, shape: shape, type: type, bytes: bytes))
    }

    /// Writes the file atomically. Errors name the file, and the tensor when one is malformed.
    public func write(to path: String) throws {
        let alignment: Int
        if let a = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard case .uint32(let n) = a, n > 0, n & (n - 1) == 0 else {
                throw FileError(path: path, reason: "general.alignment must be a power-of-two uint32")
            }
            alignment = Int(n)
        } else {
            alignment = 32
        }
        var seen = Set<String>()
        for (key, _) in metadata where !seen.insert(key).inserted {
            throw FileError(path: path, reason: "metadata key \(key) appears twice (llama.cpp refuses such a file)")
        }
        var names = Set<String>()
        for t in tensors where !names.insert(t.name).inserted {
            throw FileError(path: path, reason: "tensor \(t.name) appears twice")
        }
        var header: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            header.append(contentsOf: s.utf8)
        }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): header.append(x)
            case .int8(let x): header.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { header.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { header.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .bool(let b): header.append(b ? 1 : 0)
            case .string(let s): string(s)
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float64(let x): u64(x.bitPattern)
            case .array(let e, let items):
                u32(e)
                u64(UInt64(items.count))
                for item in items { value(item) }
            }
        }
        u32(0x4655_4747)  // "GGUF"
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, v) in metadata {
            if case .array(let e, let items) = v, let bad = items.first(where: { $0.typeCode != e }) {
                throw FileError(path: path, reason: "metadata \(key): an array of type \(e) holds a value of type \(bad.typeCode)")
            }
            string(key)
            u32(v.typeCode)
            value(v)
        }
        var offset = 0
        var sizes: [Int] = []
        for t in tensors {
            let elements = t.shape.reduce(1, *)
            guard !t.shape.isEmpty, t.shape.count <= 4, t.shape.allSatisfy({ $0 > 0 }), let size = t.type.byteCount(elements: elements),
                t.shape.last! % t.type.blockSize == 0
            else {
                throw FileError(path: path, reason: "tensor \(t.name): shape \(t.shape) cannot be stored as \(t.type.name)")
            }
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            sizes.append(size)
            offset = (offset + size + alignment - 1) / alignment * alignment
        }
        while header.count % alignment != 0 { header.append(0) }
        let zeros = [UInt8](repeating: 0, count: alignment)
        try AtomicFile.write(to: path) { emit in
            try header.withUnsafeBytes { try emit($0) }
            for (t, size) in zip(tensors, sizes) {
                let bytes = try t.bytes()
                guard bytes.count == size else {
                    throw FileError(
                        path: path, reason: "tensor \(t.name): \(bytes.count) bytes made, \(size) expected for \(t.type.name) \(t.shape)")
                }
                try bytes.withUnsafeBytes { try emit($0) }
                let pad = (alignment - size % alignment) % alignment
                if pad > 0 { try zeros.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<pad])) } }
            }
        }
    }
}
