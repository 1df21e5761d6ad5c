/// A GGUF file (llama.cpp's model format, versions 2 and 3): metadata key/values and the table of
/// tensors, read from a memory mapping with every count, length and offset checked against the file,
/// so a truncated or hostile file gives a ``GGUFError`` naming what is wrong, never a crash.
///
/// Layout (ggml `docs/gguf.md`): magic `GGUF`, version u32, tensor count u64, metadata count u64,
/// metadata (key string, type u32, value), tensor infos (name, n_dims u32, dims u64…, type u32,
/// offset u64), padding to `general.alignment` (default 32), tensor data.
public final class GGUFFile: @unchecked Sendable {
    /// A metadata value.
    public indirect enum Value: Sendable, CustomStringConvertible {
        case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String)
        case array([Value])
        /// Large arrays of strings (a 262,144-token vocabulary) stay in one Swift array.
        case strings([String])
        case floats([Float])
        case ints([Int64])

        /// The value as text; arrays show their first 8 elements, then the count.
        public var description: String {
            switch self {
            case .uint(let v): return String(v)
            case .int(let v): return String(v)
            case .float(let v): return String(v)
            case .bool(let v): return String(v)
            case .string(let s): return s
            case .array(let a): return "[\(a.prefix(8).map(\.description).joined(separator: ", "))\(a.count > 8 ? ", … (\(a.count))" : "")]"
            case .strings(let a):
                return "[\(a.prefix(8).map { "\"\($0)\"" }.joined(separator: ", "))\(a.count > 8 ? ", … (\(a.count) strings)" : "")]"
            case .floats(let a):
                return "[\(a.prefix(8).map { String($0) }.joined(separator: ", "))\(a.count > 8 ? ", … (\(a.count) floats)" : "")]"
            case .ints(let a):
                return "[\(a.prefix(8).map { String($0) }.joined(separator: ", "))\(a.count > 8 ? ", … (\(a.count) ints)" : "")]"
            }
        }

        /// The value as `Int` when it is an integer (signed or unsigned) that fits; nil otherwise.
        public var int: Int? {
            switch self {
            case .uint(let v): return Int(exactly: v)
            case .int(let v): return Int(exactly: v)
            default: return nil
            }
        }
        /// The text of a `.string` value; nil otherwise.
        public var string: String? { if case .string(let s) = self { return s }; return nil }
        /// The flag of a `.bool` value; nil otherwise.
        public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
        /// The value as `Double` for a float or an integer; nil otherwise.
        public var double: Double? {
            switch self {
            case .float(let v): return v
            case .uint(let v): return Double(v)
            case .int(let v): return Double(v)
            default: return nil
            }
        }
        /// A string array (`.strings`, or an `.array` holding only strings), such as `tokenizer.ggml.tokens`; nil otherwise.
        public var strings: [String]? {
            switch self {
            case .strings(let a): return a
            case .array(let a): return a.allSatisfy({ $0.string != nil }) ? a.map { $0.string! } : nil
            default: return nil
            }
        }
        /// A numeric array as floats (`.floats`, or `.ints` converted), such as `tokenizer.ggml.scores`; nil otherwise.
        public var floats: [Float]? {
            switch self {
            case .floats(let a): return a
            case .ints(let a): return a.map(Float.init)
            default: return nil
            }
        }
        /// An integer array (`.ints`), such as `tokenizer.ggml.token_type`; nil for anything else, float arrays included.
        public var ints: [Int64]? {
            switch self {
            case .ints(let a): return a
            default: return nil
            }
        }
    }

    /// One tensor's entry in the table.
    public struct TensorInfo: Sendable {
        /// The tensor's name in the file (e.g. `blk.0.attn_q.weight`).
        public let name: String
        /// Dimensions as GGUF stores them: fastest-varying first (ggml's ne[0], ne[1], …).
        public let dimensions: [Int]
        /// The ggml type number (0 F32, 1 F16, 8 Q8_0, 12 Q4_K, 14 Q6_K, 30 BF16, …).
        public let type: UInt32
        /// Offset from the start of the tensor data section.
        public let offset: Int
    }

    /// The path the file was opened from.
    public let path: String
    /// The GGUF format version from the header (2 or 3).
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: Value)]
    /// The GGUF type code of each metadata value (0 u8 … 12 f64; 9 arrays with their element type),
    /// which ``Value`` folds together: what a writer needs to copy a key exactly.
    public let metadataTypes: [String: (type: UInt32, elementType: UInt32?)]
    /// The tensor table, in file order.
    public let tensors: [TensorInfo]
    /// Alignment of tensor data in bytes (`general.alignment`, default 32; a power of two).
    public let alignment: Int
    /// Offset of the tensor data section in the file.
    public let dataOffset: Int
    /// The mapping (tensor data is read from it in place).
    public let file: MappedFile
    private let index: [String: Int]

    /// The metadata value under `key`.
    public subscript(key: String) -> Value? { index[key].map { metadata[$0].value } }

    /// Maps `path` and reads the header, metadata and tensor table; tensor bytes are checked when read (``validateTensors()``).
    public init(path: String) throws(GGUFError) {
        self.path = path
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw GGUFError(path: path, error.reason) }
        self.file = file
        var r = Reader(base: file.base.map { UnsafeRawPointer($0) }, size: file.size, path: path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else { throw GGUFError(path: path, "not a GGUF file (the first 4 bytes are not \"GGUF\")") }
        version = try r.u32("version")
        guard version == 2 || version == 3 else {
            throw GGUFError(path: path, "GGUF version \(version) is not supported (LMKit reads versions 2 and 3)")
        }
        let tensorCount = try r.count("tensor count", elementSize: 24)
        let kvCount = try r.count("metadata count", elementSize: 12)
        var metadata: [(String, Value)] = []
        var index: [String: Int] = [:]
        var types: [String: (UInt32, UInt32?)] = [:]
        for i in 0..<kvCount {
            let key = try r.string("metadata key #\(i)")
            let type = try r.u32("type of \(key)")
            var elementType: UInt32? = nil
            if type == 9 {
                var peek = r
                elementType = try peek.u32("element type of \(key)")
            }
            let value = try r.value(type: type, what: key, depth: 0)
            index[key] = metadata.count
            metadata.append((key, value))
            types[key] = (type, elementType)
        }
        self.metadata = metadata
        metadataTypes = types
        self.index = index
        var alignment = 32
        if let a = index["general.alignment"].map({ metadata[$0].1 }) {
            guard let n = a.int, n > 0, n & (n - 1) == 0 else {
                throw GGUFError(path: path, "general.alignment must be a power of two, found \(a)")
            }
            alignment = n
        }
        self.alignment = alignment
        var tensors: [TensorInfo] = []
        for i in 0..<tensorCount {
            let name = try r.string("tensor #\(i) name")
            let nd = Int(try r.u32("dimension count of \(name)"))
            guard nd >= 1 && nd <= 4 else { throw GGUFError(path: path, "tensor \(name) has \(nd) dimensions (1 to 4 allowed)") }
            var dims: [Int] = []
            for d in 0..<nd {
                let v = try r.u64("dimension \(d) of \(name)")
                guard v > 0 && v < 1 << 40 else { throw GGUFError(path: path, "tensor \(name) has dimension \(d) of size \(v)") }
                dims.append(Int(v))
            }
            let type = try r.u32("type of \(name)")
            let offset = try r.u64("offset of \(name)")
            guard offset < UInt64(file.size) else {
                throw GGUFError(path: path, "tensor \(name) starts at data offset \(offset), beyond the file's \(file.size) bytes")
            }
            tensors.append(TensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset)))
        }
        self.tensors = tensors
        dataOffset = (r.position + alignment - 1) / alignment * alignment
        // A vocabulary-only file (no tensors) may end right after its metadata, without the padding.
        guard dataOffset <= file.size || tensors.isEmpty else {
            throw GGUFError(path: path, "truncated: the tensor data section would start at byte \(dataOffset) of \(file.size)")
        }
    }

    /// Reads the header with bounds checks.
    struct Reader {
        let base: UnsafeRawPointer?
        let size: Int
        let path: String
        var position = 0

        mutating func need(_ n: Int, _ what: String) throws(GGUFError) -> UnsafeRawPointer {
            guard n >= 0, position <= size - n, let base else {
                throw GGUFError(path: path, "truncated while reading \(what) at byte \(position) (file has \(size) bytes)")
            }
            defer { position += n }
            return base + position
        }
        mutating func u32(_ what: String) throws(GGUFError) -> UInt32 { try need(4, what).loadUnaligned(as: UInt32.self) }
        mutating func u64(_ what: String) throws(GGUFError) -> UInt64 { try need(8, what).loadUnaligned(as: UInt64.self) }
        /// A count of items of at least `elementSize` bytes each: must fit in the rest of the file.
        mutating func count(_ what: String, elementSize: Int) throws(GGUFError) -> Int {
            let v = try u64(what)
            guard v <= UInt64((size - position) / max(1, elementSize)) else {
                throw GGUFError(path: path, "\(what) \(v) cannot fit in the remaining \(size - position) bytes")
            }
            return Int(v)
        }
        mutating func string(_ what: String) throws(GGUFError) -> String {
            let n = try count("length of \(what)", elementSize: 1)
            let p = try need(n, what)
            return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
        }

        mutating func value(type: UInt32, what: String, depth: Int) throws(GGUFError) -> Value {
            switch type {
            case 0: return .uint(UInt64(try need(1, what).load(as: UInt8.self)))
            case 1: return .int(Int64(try need(1, what).load(as: Int8.self)))
            case 2: return .uint(UInt64(try need(2, what).loadUnaligned(as: UInt16.self)))
            case 3: return .int(Int64(try need(2, what).loadUnaligned(as: Int16.self)))
            case 4: return .uint(UInt64(try u32(what)))
            case 5: return .int(Int64(try need(4, what).loadUnaligned(as: Int32.self)))
            case 6: return .float(Double(try need(4, what).loadUnaligned(as: Float.self)))
            case 7:
                let b = try need(1, what).load(as: UInt8.self)
                guard b <= 1 else { throw GGUFError(path: path, "\(what): boolean byte \(b) is neither 0 nor 1") }
                return .bool(b == 1)
            case 8: return .string(try string(what))
            case 9:
                guard depth < 4 else { throw GGUFError(path: path, "\(what): arrays nested too deep") }
                let elementType = try u32("element type of \(what)")
                let minSize: Int = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8][elementType] ?? 1
                let n = try count("length of \(what)", elementSize: minSize)
                switch elementType {
                case 8:
                    var out: [String] = []
                    out.reserveCapacity(n)
                    for i in 0..<n { out.append(try string("\(what)[\(i)]")) }
                    return .strings(out)
                case 6:
                    let p = try need(4 * n, what)
                    return .floats((0..<n).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) })
                case 0, 1, 2, 3, 4, 5, 10, 11:
                    var out: [Int64] = []
                    out.reserveCapacity(n)
                    for i in 0..<n {
                        switch try value(type: elementType, what: "\(what)[\(i)]", depth: depth + 1) {
                        case .uint(let v): out.append(Int64(truncatingIfNeeded: v))
                        case .int(let v): out.append(v)
                        default: break
                        }
                    }
                    return .ints(out)
                default:
                    var out: [Value] = []
                    for i in 0..<n { out.append(try value(type: elementType, what: "\(what)[\(i)]", depth: depth + 1)) }
                    return .array(out)
                }
            case 10: return .uint(try u64(what))
            case 11: return .int(Int64(bitPattern: try u64(what)))
            case 12: return .float(try need(8, what).loadUnaligned(as: Double.self))
            default: throw GGUFError(path: path, "\(what): unknown metadata value type \(type)")
            }
        }
    }
}

/// A GGUF file that cannot be read, with the reason.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    /// The file that could not be read.
    public let path: String
    /// What is wrong, with the offending value or byte offset.
    public let reason: String
    init(path: String, _ reason: String) { self.path = path; self.reason = reason }
    /// `path: reason`, for error messages.
    public var description: String { "\(path): \(reason)" }
}
