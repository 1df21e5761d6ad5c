// An importance matrix ("imatrix"): for each weight matrix, the mean square of every input column
// over a calibration text, E[x_j²]. A weight that multiplies large inputs matters more; the
// quantizers weigh each column's error by it (GGMLQuantizer's `importance`). The file is llama.cpp's
// GGUF imatrix (what `llama-imatrix` writes and `llama-quantize --imatrix` reads): per matrix,
// `<name>.in_sum2` (Σ x_j² over tokens) and `<name>.counts` (tokens), with the datasets and chunking
// in its metadata. llama.cpp's older binary `.dat` files are read too.
import Foundation
import LMKitModels
import LMKitTensor

/// Per-column sums of squared inputs of a model's matrices, under their GGUF names.
public struct ImportanceMatrix: Sendable {
    /// One matrix's statistics.
    public struct Entry: Sendable, Equatable {
        /// Σ x_j² over the tokens seen, one per input column.
        public var sums: [Float]
        /// Tokens seen.
        public var count: Float

        /// An entry of `sums` over `count` tokens.
        public init(sums: [Float], count: Float) { (self.sums, self.count) = (sums, count) }
    }

    /// Entries by GGUF tensor name (`blk.0.attn_q.weight`).
    public var entries: [String: Entry]
    /// The calibration texts.
    public var datasets: [String]
    /// Chunks (windows) the text was split into, and tokens per chunk.
    public var chunkCount: Int, chunkSize: Int
    /// The file it was read from (nil: collected here).
    public var path: String?

    /// An importance matrix of `entries`.
    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int) {
        (self.entries, self.datasets, self.chunkCount, self.chunkSize) = (entries, datasets, chunkCount, chunkSize)
    }

    /// E[x_j²] for tensor `name` (what the quantizers weigh by; 1 for every column when no token
    /// reached it, as llama-quantize does), or nil without an entry.
    public func values(for name: String) -> [Float]? {
        guard let e = entries[name] else { return nil }
        return e.count > 0 ? e.sums.map { $0 / e.count } : [Float](repeating: 1, count: e.sums.count)
    }

    /// Reads a GGUF imatrix, or a legacy `.dat` one.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ModelError("\(path): cannot read the importance matrix (\(error.localizedDescription))")
        }
        if data.starts(with: Array("GGUF".utf8)) {
            try self.init(gguf: GGUFFile(path: path))
        } else {
            try self.init(legacy: data, path: path)
        }
        self.path = path
    }

    init(gguf file: GGUFFile) throws {
        guard file["general.type"]?.string == "imatrix" else {
            throw ModelError("\(file.path): not an importance matrix (general.type is not \"imatrix\")")
        }
        var entries: [String: Entry] = [:]
        for info in file.tensors where info.name.hasSuffix(".in_sum2") {
            let name = String(info.name.dropLast(".in_sum2".count))
            guard file.tensors.contains(where: { $0.name == name + ".counts" }) else {
                throw ModelError("\(file.path): \(info.name) has no \(name).counts")
            }
            let sums = try file.floats(info.name), counts = try file.floats(name + ".counts")
            guard counts.count == 1 else {
                throw ModelError("\(file.path): \(name) holds \(counts.count) matrices (mixture-of-experts imatrices are not supported)")
            }
            entries[name] = Entry(sums: sums.floats, count: counts.floats[0])
        }
        guard !entries.isEmpty else { throw ModelError("\(file.path): the importance matrix holds no entries") }
        let datasets = file["imatrix.datasets"]?.strings ?? []
        self.init(
            entries: entries, datasets: datasets, chunkCount: Int(file["imatrix.chunk_count"]?.int ?? 0),
            chunkSize: Int(file["imatrix.chunk_size"]?.int ?? 0))
    }

    /// `n_entries: i32`, then per entry `len: i32, name, ncall: i32, nval: i32, values: f32[nval]`
    /// (E[x²]·ncall), then `chunks: i32` and the dataset's name.
    init(legacy data: Data, path: String) throws {
        var reader = ByteReader(data: data, path: path)
        let n = try reader.int32()
        guard n > 0 && n < 1_000_000 else { throw ModelError("\(path): not an importance matrix (GGUF or llama.cpp's .dat)") }
        var entries: [String: Entry] = [:]
        for _ in 0..<n {
            let name = try reader.string(Int(try reader.int32()))
            let calls = try reader.int32(), count = try reader.int32()
            var sums = try (0..<count).map { _ in try reader.float() }
            if calls > 0 { sums = sums.map { $0 / Float(calls) } }
            entries[name] = Entry(sums: sums, count: 1)
        }
        let chunks = (try? reader.int32()) ?? 0
        let dataset = (try? reader.string(Int(try reader.int32()))) ?? ""
        self.init(entries: entries, datasets: dataset.isEmpty ? [] : [dataset], chunkCount: Int(chunks), chunkSize: 0)
    }

    /// Writes the GGUF imatrix file (entries sorted by name), atomically.
    public func write(to path: String) throws {
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.type", .string("imatrix")), ("imatrix.datasets", .array(elementType: 8, datasets.map { .string($0) })),
            ("imatrix.chunk_count", .uint32(UInt32(chunkCount))), ("imatrix.chunk_size", .uint32(UInt32(chunkSize))),
        ]
        for name in entries.keys.sorted() {
            let e = entries[name]!
            writer.addTensor(name + ".in_sum2", shape: [1, e.sums.count], type: .f32) { e.sums.withUnsafeBytes { Array($0) } }
            writer.addTensor(name + ".counts", shape: [1, 1], type: .f32) { withUnsafeBytes(of: e.count) { Array($0) } }
        }
        try writer.write(to: path)
    }
}

/// Little-endian reads with a clear error at the end of the data.
struct ByteReader {
    let data: Data, path: String
    var offset = 0

    mutating func bytes(_ n: Int) throws -> Data {
        guard n >= 0 && offset + n <= data.count else { throw ModelError("\(path): truncated at byte \(offset)") }
        defer { offset += n }
        return data.subdata(in: data.startIndex + offset..<data.startIndex + offset + n)
    }

    mutating func int32() throws -> Int32 { Int32(littleEndian: try bytes(4).withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }) }
    mutating func float() throws -> Float { Float(bitPattern: UInt32(bitPattern: try int32())) }
    mutating func string(_ n: Int) throws -> String {
        guard let s = String(data: try bytes(n), encoding: .utf8) else {
            throw ModelError("\(path): a name is not UTF-8 at byte \(offset)")
        }
        return s
    }
}
