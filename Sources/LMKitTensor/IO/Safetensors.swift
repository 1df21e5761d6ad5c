#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header `{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {…}}`,
/// then the raw tensor bytes.
///
/// Reading maps the file and checks every header field against the file before any tensor is
/// touched, as the reference implementation does: the header length, the JSON, each dtype, shape and
/// offset pair, and that the tensors tile the data section exactly. A truncated or hostile file
/// gives a ``SafetensorsError``, never a crash or an out-of-bounds read.
public final class SafetensorsFile: @unchecked Sendable {
    /// What the header says about one tensor.
    public struct Entry: Sendable, Equatable {
        /// The tensor's key in the header (e.g. `model.embed_tokens.weight`).
        public let name: String
        /// Element type, from the header's `dtype` (`F32`, `BF16`, `I64`, …).
        public let dtype: DType
        /// Dimensions from the header's `shape`, outermost first (`[]` for a scalar).
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// The file path.
    public let path: String
    /// The tensors, in file order.
    public let entries: [Entry]
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int
    private let index: [String: Int]

    /// The largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    /// Opens and validates `path`.
    public init(path: String) throws(SafetensorsError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch { throw SafetensorsError(path: path, problem: error.reason) }
        func fail(_ problem: String) -> SafetensorsError { SafetensorsError(path: path, problem: problem) }
        guard file.size >= 8, let base = file.base else { throw fail("file is \(file.size) bytes, too small for a safetensors header") }
        let headerLength = base.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length \(headerLength) exceeds the \(Self.maxHeaderBytes)-byte limit")
        }
        guard Int(headerLength) <= file.size - 8 else {
            throw fail(
                "header length \(headerLength) runs past the end of the file (\(file.size) bytes): the file is truncated or not safetensors"
            )
        }
        dataStart = 8 + Int(headerLength)
        let headerBytes = UnsafeRawBufferPointer(start: base + 8, count: Int(headerLength))
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        let raw: [String: HeaderValue]
        do {
            raw = try JSONDecoder().decode([String: HeaderValue].self, from: Data(headerBytes))
        } catch {
            throw fail("header is not the expected JSON object: \(error)")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in raw {
            switch value {
            case .metadata(let m):
                guard name == "__metadata__" else { throw fail("entry '\(name)' is not a tensor description") }
                metadata = m
            case .tensor(let t):
                guard name != "__metadata__" else { throw fail("__metadata__ must map strings to strings") }
                guard let dtype = SafetensorsFile.dtype(named: t.dtype) else {
                    throw fail(
                        "tensor '\(name)' has dtype \(t.dtype), which LMKit does not read (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"
                    )
                }
                guard t.shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)' has a negative dimension in shape \(t.shape)") }
                var count = 1
                for d in t.shape {
                    let (c, overflow) = count.multipliedReportingOverflow(by: d)
                    guard !overflow else { throw fail("tensor '\(name)' shape \(t.shape) overflows") }
                    count = c
                }
                guard t.data_offsets.count == 2 else { throw fail("tensor '\(name)' data_offsets must have two entries") }
                let (begin, end) = (t.data_offsets[0], t.data_offsets[1])
                let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
                guard !overflow, begin >= 0, begin <= end, end - begin == bytes else {
                    throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] do not hold \(t.shape) of \(t.dtype) (\(bytes) bytes)")
                }
                entries.append(Entry(name: name, dtype: dtype, shape: t.shape, range: begin..<end))
            }
        }
        // The tensors must tile the data section: sorted by offset, each starts where the last ended.
        entries.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var expected = 0
        for e in entries {
            guard e.range.lowerBound == expected else {
                throw fail(
                    "tensor '\(e.name)' starts at byte \(e.range.lowerBound) of the data section, expected \(expected) (overlapping or gapped offsets)"
                )
            }
            expected = e.range.upperBound
        }
        let dataSize = file.size - dataStart
        guard expected == dataSize else {
            if expected > dataSize {
                throw fail("tensors need \(expected) bytes of data but the file has \(dataSize): the file is truncated")
            }
            throw fail("the data section has \(dataSize - expected) bytes after the last tensor")
        }
        self.entries = entries
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    /// Tensor names in file order.
    public var names: [String] { entries.map(\.name) }

    /// The header entry of `name`, if present.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The tensor `name`, in its stored dtype. Zero-copy (a view of the mapping) when aligned.
    public func tensor(_ name: String) throws(SafetensorsError) -> Tensor {
        guard let e = entry(name) else {
            throw SafetensorsError(path: path, problem: "no tensor named '\(name)' (the file has \(entries.count) tensors)")
        }
        let start = file.base! + dataStart + e.range.lowerBound
        let strides = Shape.contiguousStrides(e.shape)
        if Int(bitPattern: start) % e.dtype.byteSize == 0 {
            let storage = TensorStorage(borrowing: start, byteCount: e.range.count, owner: file)
            return Tensor(storage: storage, shape: e.shape, strides: strides, offset: 0, dtype: e.dtype)
        }
        let t = Tensor.empty(e.shape, dtype: e.dtype)
        t.storage.base.copyMemory(from: start, byteCount: e.range.count)
        return t
    }

    /// Every tensor, keyed by name.
    public func tensors() throws(SafetensorsError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in entries { out[e.name] = try tensor(e.name) }
        return out
    }

    static func dtype(named name: String) -> DType? {
        switch name {
        case "F64": return .float64
        case "F32": return .float32
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "I64": return .int64
        case "I32": return .int32
        case "I16": return .int16
        case "I8": return .int8
        case "U8": return .uint8
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// The safetensors spelling of a type (`F32`, `BF16`, `I64`, …).
    public static func name(of dtype: DType) -> String {
        switch dtype {
        case .float64: return "F64"
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// Writes `tensors` (and optional metadata) to `path` atomically, names sorted, header padded
    /// with spaces to a multiple of 8 bytes so every tensor starts aligned.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws(SafetensorsError) {
        let names = tensors.keys.sorted()
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(JSONLiteral.string($0)):\(JSONLiteral.string(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        var ordered: [Tensor] = []
        for name in names {
            let t = tensors[name]!.contiguous()
            let bytes = t.count * t.dtype.byteSize
            parts.append(
                "\(JSONLiteral.string(name)):{\"dtype\":\"\(Self.name(of: t.dtype))\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            )
            offset += bytes
            ordered.append(t)
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        while (header.count + 8) % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var length = UInt64(header.count).littleEndian
        do {
            try AtomicFile.write(to: path) { emit in
                try withUnsafeBytes(of: &length) { try emit($0) }
                try header.withUnsafeBytes { try emit($0) }
                for t in ordered {
                    let start = UnsafeRawPointer(t.storage.base) + t.offset * t.dtype.byteSize
                    try emit(UnsafeRawBufferPointer(start: start, count: t.count * t.dtype.byteSize))
                }
            }
        } catch let error as FileError {
            throw SafetensorsError(path: path, problem: error.reason)
        } catch {
            throw SafetensorsError(path: path, problem: "\(error)")
        }
    }

}

/// A safetensors file that cannot be read or written, with the path and what is wrong.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    /// The file that could not be read or written.
    public let path: String
    /// What is wrong: the system error, a header field or offset that fails its check, or a missing tensor.
    public let problem: String
    /// `path: problem`, for error messages.
    public var description: String { "\(path): \(problem)" }
}

/// One value of the header object: a tensor description or the metadata map.
private enum HeaderValue: Decodable {
    struct TensorInfo: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    case tensor(TensorInfo)
    case metadata([String: String])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let t = try? c.decode(TensorInfo.self) {
            self = .tensor(t)
        } else {
            self = .metadata(try c.decode([String: String].self))
        }
    }
}
