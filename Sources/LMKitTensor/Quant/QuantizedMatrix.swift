/// A weight matrix kept in its GGUF blocks (each of the `rows` rows is `columns / blockSize`
/// consecutive blocks), multiplied without expanding it to float32: generation reads every weight
/// once per token, so reading 1.06 bytes (Q8_0) or 0.56 bytes (Q4_K) per weight instead of 4 is
/// most of the speed.
///
/// - One activation row (decoding): each core takes a share of the weight rows and computes their
///   dot products block by block (Q8_0 directly on its int8 values; other types expand one row at a
///   time into a small buffer that stays in cache).
/// - Several activation rows (prompt processing): each core expands a tile of weight rows and
///   multiplies it with all activation rows through BLAS, so the work stays compute-bound.
public final class QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    let base: UnsafeRawPointer
    /// Keeps the bytes alive (the GGUF file's mapping, or an owned buffer).
    let owner: AnyObject

    /// A view of a 2-D tensor of a GGUF file (`shape` in PyTorch order: `[rows, columns]`).
    public init(_ data: GGUFFile.TensorData, file: GGUFFile) throws(GGUFError) {
        guard data.shape.count == 2 else { throw GGUFError(path: file.path, "tensor \(data.info.name) is not a matrix: \(data.shape)") }
        guard data.type.isSupported else { throw GGUFError(path: file.path, "tensor \(data.info.name) is \(data.type.name), which LMKit cannot read yet") }
        guard data.shape[1] % data.type.blockSize == 0 else {
            throw GGUFError(path: file.path, "tensor \(data.info.name): rows of \(data.shape[1]) do not fill \(data.type.name) blocks")
        }
        type = data.type
        rows = data.shape[0]
        columns = data.shape[1]
        base = data.bytes.baseAddress!
        owner = file
    }

    /// A matrix over bytes the caller provides (tests, converted weights).
    public init(type: GGMLType, rows: Int, columns: Int, bytes: [UInt8]) {
        precondition(type.isSupported && columns % type.blockSize == 0 && bytes.count == rows * type.byteCount(elements: columns)!,
                     "QuantizedMatrix: \(bytes.count) bytes do not hold \(rows)×\(columns) \(type.name) weights")
        self.type = type
        self.rows = rows
        self.columns = columns
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        base = UnsafeRawPointer(buffer)
        owner = OwnedBytes(buffer)
    }

    /// Bytes per row.
    public var rowBytes: Int { columns / type.blockSize * type.blockBytes }

    /// The whole matrix as float32 `[rows, columns]`.
    public func dequantized() -> Tensor { rows(Array(0..<rows)) }

    /// Rows `ids` as float32 `[ids.count, columns]` (an embedding lookup).
    public func rows(_ ids: [Int]) -> Tensor {
        let out = Tensor.empty([ids.count, columns], dtype: .float32)
        let o = out.pointer(Float.self)
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && id < rows, "row \(id) is outside the \(rows) rows")
            GGMLDequantize.dequantizeSerial(type, base + id * rowBytes, count: columns, into: o + i * columns)
        }
        return withExtendedLifetime(owner) { out }
    }

    /// `x · Wᵀ` for `x: [..., columns]` → `[..., rows]` (a bias-free linear layer). No gradient flows
    /// through (the weights are constants and so, here, is `x`).
    public func linear(_ x: Tensor) -> Tensor {
        precondition(x.dtype == .float32 && x.size(-1) == columns, "quantized linear: input \(x.shape) does not fit \(rows)×\(columns)")
        let xc = x.contiguous()
        let m = x.count / columns
        let out = Tensor.empty(Array(x.shape.dropLast()) + [rows], dtype: .float32)
        let xp = UnsafePointer(xc.pointer(Float.self)), op = out.pointer(Float.self)
        if m <= 4 {
            matvec(xp, m: m, into: op)
        } else {
            tiled(xp, m: m, into: op)
        }
        return withExtendedLifetime((owner, xc)) { out }
    }

    /// Few activation rows: dot products row by row, rows split across cores.
    func matvec(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        let (rows, columns, rowBytes, type, base) = (self.rows, self.columns, self.rowBytes, self.type, self.base)
        Parallel.forRanges(rows, minChunk: max(1, 32_768 / max(columns, 1))) { range in
            if type == .q8_0 {
                for r in range {
                    let w = base + r * rowBytes
                    for i in 0..<m { y[i * rows + r] = QuantizedDot.q8_0(w, x + i * columns, columns) }
                }
                return
            }
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            defer { buffer.deallocate() }
            for r in range {
                GGMLDequantize.dequantizeSerial(type, base + r * rowBytes, count: columns, into: buffer)
                for i in 0..<m { y[i * rows + r] = QuantizedDot.f32(buffer, x + i * columns, columns) }
            }
        }
    }

    /// Many activation rows: tiles of weight rows expanded, then one GEMM per tile.
    func tiled(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        let (rows, columns, rowBytes, type, base) = (self.rows, self.columns, self.rowBytes, self.type, self.base)
        let tile = 64
        let tiles = (rows + tile - 1) / tile
        Parallel.forRanges(tiles, minChunk: 1) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tile * columns)
            defer { buffer.deallocate() }
            for t in range {
                let r0 = t * tile, n = min(tile, rows - r0)
                for r in 0..<n { GGMLDequantize.dequantizeSerial(type, base + (r0 + r) * rowBytes, count: columns, into: buffer + r * columns) }
                BLAS.gemmSingle(transA: false, transB: true, m: m, n: n, k: columns, alpha: 1, a: x, lda: columns,
                                b: UnsafePointer(buffer), ldb: columns, beta: 0, c: y + r0, ldc: rows)
            }
        }
    }
}

/// Memory a ``QuantizedMatrix`` owns.
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}

/// Dot products of a row of weights with float32 activations.
enum QuantizedDot {
    /// Σ w·x over `n` float32 values, eight lanes at a time.
    @inline(__always)
    static func f32(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var j = 0
        while j + 16 <= n {
            a0 = a0.addingProduct(load8(w + j), load8(x + j))
            a1 = a1.addingProduct(load8(w + j + 8), load8(x + j + 8))
            j += 16
        }
        var s = (a0 + a1).sum()
        while j < n { s += w[j] * x[j]; j += 1 }
        return s
    }

    /// Σ over Q8_0 blocks of d · Σ q·x, on the int8 values directly.
    @inline(__always)
    static func q8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var total = SIMD8<Float>()
        for b in 0..<(n / 32) {
            let block = w + b * 34
            let d = Float(block.loadUnaligned(as: Float16.self))
            let xs = x + b * 32
            var acc = SIMD8<Float>()
            for part in 0..<4 {
                let q = block.loadUnaligned(fromByteOffset: 2 + 8 * part, as: SIMD8<Int8>.self)
                acc = acc.addingProduct(SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)), load8(xs + 8 * part))
            }
            total = total.addingProduct(acc, SIMD8<Float>(repeating: d))
        }
        return total.sum()
    }
}
