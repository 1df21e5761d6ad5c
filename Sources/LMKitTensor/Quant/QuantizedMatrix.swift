import CLMKitKernels
#if canImport(Glibc)
    import Glibc
#endif

/// A weight matrix kept in its GGUF blocks (each of the `rows` rows is `columns / blockSize`
/// consecutive blocks), multiplied without expanding it to float32: generation reads every weight
/// once per token, so reading 1.06 bytes (Q8_0) or 0.56 bytes (Q4_K) per weight instead of 4 is
/// most of the speed.
///
/// - Few activation rows (decoding): each core takes a share of the weight rows and computes their
///   dot products block by block. With ``activations`` `.int8` (the default, as llama.cpp) the
///   activations are quantized to 8 bits per block of 32 and multiplied in integers by the C kernels
///   of `CLMKitKernels` (AVX2 / AVX-512 VNNI); with `.float32` the blocks are widened and multiplied
///   with the float activations (exact up to float rounding: the parity tests against PyTorch use it).
///   F32/F16/BF16 rows are expanded one at a time into a small buffer that stays in cache.
/// - Many activation rows (prompt processing) with `.int8` on a CPU with AVX-512 VNNI: the same
///   8-bit activations, and tiles of 8 weight rows expanded to bytes and multiplied with 4 activation
///   rows at a time in integers (`lmk_qgemm`).
/// - Otherwise, several activation rows: each core expands a tile of weight rows to float32 and
///   multiplies it with all activation rows through BLAS, so the work stays compute-bound.
public final class QuantizedMatrix: @unchecked Sendable {
    /// How activations meet the quantized weights in matrix-vector products.
    public enum Activations: String, Sendable, CaseIterable {
        /// Quantized to 8 bits per block of 32 and multiplied in integers (fast; llama.cpp's way).
        case int8
        /// Kept in float32 (exact up to float rounding; slower).
        case float32
    }

    /// The instruction set of the integer kernels: `LMKIT_ISA` (`scalar`, `avx2`) if set, else the
    /// best this CPU has.
    public static let isa: Int32 = {
        switch getenv("LMKIT_ISA").map({ String(cString: $0) }) {
        case "scalar": return Int32(LMK_ISA_SCALAR)
        case "avx2": return min(Int32(LMK_ISA_AVX2), lmk_best_isa())
        default: return lmk_best_isa()
        }
    }()

    /// The name of ``isa`` (for benchmarks).
    public static var isaName: String {
        switch isa {
        case Int32(LMK_ISA_AVX512_VNNI): return "AVX-512 VNNI"
        case Int32(LMK_ISA_AVX2): return "AVX2"
        default: return "scalar"
        }
    }

    /// The GGML block format the weights are stored in (Q8_0, Q4_K, F16, …).
    public let type: GGMLType
    /// Precision of the activations in products with few rows (see the type's documentation).
    public var activations: Activations = .int8
    /// Number of weight rows: the output features of `y = W·x`.
    public let rows: Int
    /// Length of each row, the input features (a multiple of the type's block size).
    public let columns: Int
    let base: UnsafeRawPointer
    /// Keeps the bytes alive (the GGUF file's mapping, or an owned buffer).
    let owner: AnyObject

    /// A view of a 2-D tensor of a GGUF file (`shape` in PyTorch order: `[rows, columns]`).
    public init(_ data: GGUFFile.TensorData, file: GGUFFile) throws(GGUFError) {
        guard data.shape.count == 2 else { throw GGUFError(path: file.path, "tensor \(data.info.name) is not a matrix: \(data.shape)") }
        guard data.type.isSupported else {
            throw GGUFError(path: file.path, "tensor \(data.info.name) is \(data.type.name), which LMKit cannot read yet")
        }
        guard data.shape[1] % data.type.blockSize == 0 else {
            throw GGUFError(path: file.path, "tensor \(data.info.name): rows of \(data.shape[1]) do not fill \(data.type.name) blocks")
        }
        type = data.type
        rows = data.shape[0]
        columns = data.shape[1]
        base = data.bytes.baseAddress!
        owner = file.file  // the mapping only: the parsed metadata (262K token strings) can go once loading is done
    }

    /// A matrix over bytes the caller provides (tests, converted weights).
    public init(type: GGMLType, rows: Int, columns: Int, bytes: [UInt8]) {
        precondition(
            type.isSupported && columns % type.blockSize == 0 && bytes.count == rows * type.byteCount(elements: columns)!,
            "QuantizedMatrix: \(bytes.count) bytes do not hold \(rows)×\(columns) \(type.name) weights")
        self.type = type
        self.rows = rows
        self.columns = columns
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        base = UnsafeRawPointer(buffer)
        owner = OwnedBytes(buffer)
    }

    /// The same weights with rows reordered: row `i` of the result is row `order[i]` of this matrix
    /// (a copy in memory; e.g. undoing llama.cpp's query/key row permutation).
    public func permutingRows(_ order: [Int]) -> QuantizedMatrix {
        precondition(
            order.count == rows && Set(order).count == rows && order.allSatisfy { (0..<rows).contains($0) },
            "permutingRows: \(order.count) indices are not a permutation of \(rows) rows")
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        bytes.withUnsafeMutableBytes { out in
            for (i, source) in order.enumerated() {
                (out.baseAddress! + i * rowBytes).copyMemory(from: base + source * rowBytes, byteCount: rowBytes)
            }
        }
        let copy = withExtendedLifetime(owner) { QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: bytes) }
        copy.activations = activations
        return copy
    }

    /// Bytes per row.
    public var rowBytes: Int { columns / type.blockSize * type.blockBytes }

    /// The whole matrix as float32 `[rows, columns]`.
    public func dequantized() -> Tensor {
        let out = Tensor.empty([rows, columns], dtype: .float32)
        GGMLDequantize.dequantize(type, base, count: rows * columns, into: out.pointer(Float.self))  // rows are contiguous
        return withExtendedLifetime(owner) { out }
    }

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

    /// `x · Wᵀ` for `x: [..., columns]` → `[..., rows]` (a bias-free linear layer). The weights are
    /// constants; when `x` takes part in a gradient graph, the gradient flows back to it through the
    /// quantized weights (QLoRA: adapters before this layer train on a quantized base).
    public func linear(_ x: Tensor) -> Tensor {
        precondition(x.dtype == .float32 && x.size(-1) == columns, "quantized linear: input \(x.shape) does not fit \(rows)×\(columns)")
        let xc = x.contiguous()
        let m = x.count / columns
        let out = Tensor.empty(Array(x.shape.dropLast()) + [rows], dtype: .float32)
        let xp = UnsafePointer(xc.pointer(Float.self)), op = out.pointer(Float.self)
        if m <= 4 {
            matvec(xp, m: m, into: op)
        } else if activations == .int8 && Self.isa == Int32(LMK_ISA_AVX512_VNNI) && lmk_qdot_supported(Int32(type.rawValue)) != 0 {
            integerGemm(xp, m: m, into: op)
        } else {
            tiled(xp, m: m, into: op)
        }
        var result = withExtendedLifetime((owner, xc)) { out }
        Tensor.record(&result, .quantizedLinear(matrix: self), inputs: [x])
        return result
    }

    /// Few activation rows: dot products row by row, rows split across cores.
    func matvec(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        if activations == .int8 && lmk_qdot_supported(Int32(type.rawValue)) != 0 {
            integerMatvec(x, m: m, into: y, isa: Self.isa)
            return
        }
        let (rows, columns, rowBytes, type, base) = (self.rows, self.columns, self.rowBytes, self.type, self.base)
        Parallel.forRanges(rows, minChunk: max(1, 32_768 / max(columns, 1))) { range in
            if let dot = QuantizedDot.kernel(type) {
                for r in range {
                    let w = base + r * rowBytes
                    for i in 0..<m { y[i * rows + r] = dot(w, x + i * columns, columns) }
                }
                return
            }
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            defer { buffer.deallocate() }
            for r in range {
                GGMLDequantize.dequantizeSerial(type, base + r * rowBytes, count: columns, into: buffer)
                for i in 0..<m { y[i * rows + r] = ReduceKernels.dot(UnsafePointer(buffer), x + i * columns, columns) }
            }
        }
    }

    /// Few activation rows with 8-bit activations: each row quantized once, then integer dot products
    /// (`isa` is one of `LMK_ISA_*`; tests pass each one).
    func integerMatvec(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>, isa: Int32) {
        let (rows, columns, rowBytes, type, base) = (self.rows, self.columns, self.rowBytes, self.type, self.base)
        let blocks = columns / 32
        let xq = UnsafeMutablePointer<lmk_q8_block>.allocate(capacity: m * blocks)
        defer { xq.deallocate() }
        for i in 0..<m { lmk_quantize_q8(x + i * columns, xq + i * blocks, Int64(columns)) }
        let activations = UnsafePointer(xq)
        Parallel.forRanges(rows, minChunk: max(1, 65_536 / max(rowBytes, 1))) { range in
            let status = lmk_qdot_rows(
                Int32(type.rawValue), base + range.lowerBound * rowBytes, rowBytes, Int64(range.count),
                activations, Int64(m), Int64(columns), y + range.lowerBound, Int64(rows), isa)
            precondition(status == 0, "no integer kernel for \(type.name) rows of \(columns)")
        }
    }

    /// Many activation rows with 8-bit activations (AVX-512 VNNI): rows quantized once, then
    /// `lmk_qgemm` on tiles of 8 weight rows, tiles split across cores.
    func integerGemm(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        let (rows, columns, rowBytes, type, base) = (self.rows, self.columns, self.rowBytes, self.type, self.base)
        let blocks = columns / 32
        let xq = UnsafeMutablePointer<lmk_q8_block>.allocate(capacity: m * blocks)
        let halves = UnsafeMutablePointer<Float>.allocate(capacity: 2 * m * blocks)
        defer { xq.deallocate(); halves.deallocate() }
        Parallel.forRanges(m, minChunk: 16) { range in
            for i in range { lmk_quantize_q8(x + i * columns, xq + i * blocks, Int64(columns)) }
            lmk_q8_half_sums(xq + range.lowerBound * blocks, Int64(range.count * blocks), halves + 2 * range.lowerBound * blocks)
        }
        let (activations, sums) = (UnsafePointer(xq), UnsafePointer(halves))
        let tiles = (rows + 7) / 8
        Parallel.forRanges(tiles, minChunk: 1) { range in
            let r0 = range.lowerBound * 8, r1 = min(rows, range.upperBound * 8)
            let status = lmk_qgemm(
                Int32(type.rawValue), base + r0 * rowBytes, rowBytes, Int64(r1 - r0), activations, sums,
                Int64(m), Int64(columns), y + r0, Int64(rows))
            precondition(status == 0, "lmk_qgemm failed (\(status)) for \(type.name) rows of \(columns)")
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
                for r in 0..<n {
                    GGMLDequantize.dequantizeSerial(type, base + (r0 + r) * rowBytes, count: columns, into: buffer + r * columns)
                }
                BLAS.gemmSingle(
                    transA: false, transB: true, m: m, n: n, k: columns, alpha: 1, a: x, lda: columns,
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

/// Dot products of a row of weights with float32 activations, computed on the blocks as they are
/// (no expanded copy): integer values widened eight at a time, scales applied once per group.
enum QuantizedDot {
    typealias Kernel = (UnsafeRawPointer, UnsafePointer<Float>, Int) -> Float

    /// The fused kernel of `type`, or nil where rows are expanded first (F32, F16, BF16).
    static func kernel(_ type: GGMLType) -> Kernel? {
        switch type {
        case .q8_0: return q8_0
        case .q4_0: return q4_0
        case .q4_1: return q4_1
        case .q5_0: return q5_0
        case .q5_1: return q5_1
        case .q4_K: return q4_K
        case .q5_K: return q5_K
        case .q6_K: return q6_K
        default: return nil
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    @inline(__always) static func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self))
    }

    @inline(__always) static func float8(_ v: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>(v) }

    /// Lane numbers 0…7 (computed, not a stored static: a `static let` costs a `swift_once` check per use).
    @inline(__always) static var lanes: SIMD8<UInt32> { SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) }

    /// Bits `shift … shift+7` of `bits`, each moved to bit 4 (16 or 0).
    @inline(__always) static func fifthBits(_ bits: UInt32, _ shift: UInt32) -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: ((SIMD8<UInt32>(repeating: bits) &>> (lanes &+ shift)) & 1) &<< 4)
    }

    /// Q8_0: d · Σ q·x per block (blocks are independent; out-of-order execution overlaps them).
    static func q8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var total = SIMD8<Float>()
        for b in 0..<(n / 32) {
            let block = w + b * 34, xs = x + b * 32
            var acc = SIMD8<Float>()
            for part in 0..<4 {
                let q = block.loadUnaligned(fromByteOffset: 2 + 8 * part, as: SIMD8<Int8>.self)
                acc = acc.addingProduct(SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)), load8(xs + 8 * part))
            }
            total = total.addingProduct(acc, SIMD8<Float>(repeating: half(block, 0)))
        }
        return total.sum()
    }

    /// Q4_0 and Q4_1: nibbles (minus 8 for Q4_0) times d, plus m for Q4_1.
    @inline(__always) static func q4(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int, withMin: Bool) -> Float {
        let size = withMin ? 20 : 18, q0 = withMin ? 4 : 2
        var total = SIMD8<Float>()
        for b in 0..<(n / 32) {
            let block = w + b * size, xs = x + b * 32
            var acc = SIMD8<Float>(), xsum = SIMD8<Float>()
            for part in 0..<2 {
                let q = bytes8(block, q0 + 8 * part)
                let lo = float8(q & 0x0F), hi = float8(q &>> 4)
                let x0 = load8(xs + 8 * part), x1 = load8(xs + 16 + 8 * part)
                acc = acc.addingProduct(lo, x0).addingProduct(hi, x1)
                xsum += x0 + x1
            }
            let d = half(block, 0)
            total = total.addingProduct(acc, SIMD8(repeating: d)).addingProduct(xsum, SIMD8(repeating: withMin ? half(block, 2) : -8 * d))
        }
        return total.sum()
    }

    static func q4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { q4(w, x, n, withMin: false) }
    static func q4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { q4(w, x, n, withMin: true) }

    /// Q5_0 and Q5_1: 5-bit values (fifth bits in a u32), minus 16 for Q5_0, times d, plus m for Q5_1.
    @inline(__always) static func q5(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int, withMin: Bool) -> Float {
        let size = withMin ? 24 : 22, hOffset = withMin ? 4 : 2
        var total = SIMD8<Float>()
        var total2 = SIMD8<Float>()
        for b in 0..<(n / 32) {
            let block = w + b * size, xs = x + b * 32
            let qh = block.loadUnaligned(fromByteOffset: hOffset, as: UInt32.self)
            let q0 = bytes8(block, hOffset + 4), q1 = bytes8(block, hOffset + 12)
            let x0 = load8(xs), x1 = load8(xs + 8), x2 = load8(xs + 16), x3 = load8(xs + 24)
            let a = (float8((q0 & 0x0F) | fifthBits(qh, 0)) * x0).addingProduct(float8((q0 &>> 4) | fifthBits(qh, 16)), x2)
            let c = (float8((q1 & 0x0F) | fifthBits(qh, 8)) * x1).addingProduct(float8((q1 &>> 4) | fifthBits(qh, 24)), x3)
            let d = half(block, 0)
            total = total.addingProduct(a + c, SIMD8(repeating: d))
            total2 = total2.addingProduct((x0 + x1) + (x2 + x3), SIMD8(repeating: withMin ? half(block, 2) : -16 * d))
        }
        return (total + total2).sum()
    }

    static func q5_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { q5(w, x, n, withMin: false) }
    static func q5_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { q5(w, x, n, withMin: true) }

    /// Q4_K and Q5_K: per 32 weights, d·scale·Σ q·x − dmin·min·Σ x.
    @inline(__always) static func k4(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int, fifth: Bool) -> Float {
        let size = fifth ? 176 : 144, qOffset = fifth ? 48 : 16
        var total = SIMD8<Float>()
        for b in 0..<(n / 256) {
            let block = w + b * size, xs = x + b * 256
            let d = half(block, 0), dmin = half(block, 2)
            let scales = block + 4, qh = block + 16
            for chunk in 0..<4 {
                let (sc1, m1) = GGMLDequantize.scaleMin(2 * chunk, scales), (sc2, m2) = GGMLDequantize.scaleMin(2 * chunk + 1, scales)
                var acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), xs1 = SIMD8<Float>(), xs2 = SIMD8<Float>()
                for part in 0..<4 {
                    let q = bytes8(block, qOffset + 32 * chunk + 8 * part)
                    var lo = q & 0x0F, hi = q &>> 4
                    if fifth {
                        let h = bytes8(qh, 8 * part)
                        lo |= ((h &>> Int32(2 * chunk)) & 1) &<< 4
                        hi |= ((h &>> Int32(2 * chunk + 1)) & 1) &<< 4
                    }
                    let x0 = load8(xs + 64 * chunk + 8 * part), x1 = load8(xs + 64 * chunk + 32 + 8 * part)
                    acc1 = acc1.addingProduct(float8(lo), x0); xs1 += x0
                    acc2 = acc2.addingProduct(float8(hi), x1); xs2 += x1
                }
                total = total.addingProduct(acc1, SIMD8(repeating: d * sc1)).addingProduct(xs1, SIMD8(repeating: -dmin * m1))
                    .addingProduct(acc2, SIMD8(repeating: d * sc2)).addingProduct(xs2, SIMD8(repeating: -dmin * m2))
            }
        }
        return total.sum()
    }

    static func q4_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { k4(w, x, n, fifth: false) }
    static func q5_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { k4(w, x, n, fifth: true) }

    /// Q6_K: 6-bit values minus 32, a signed scale per 16 weights, times d.
    static func q6_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var total = SIMD8<Float>()
        for b in 0..<(n / 256) {
            let block = w + b * 210, xs = x + b * 256
            let d = half(block, 208)
            for halfIndex in 0..<2 {
                let ql = 64 * halfIndex, qh = 128 + 32 * halfIndex, sc = 192 + 8 * halfIndex
                let xh = xs + 128 * halfIndex
                func scale(_ k: Int) -> SIMD8<Float> { SIMD8(repeating: d * Float(block.load(fromByteOffset: sc + k, as: Int8.self))) }
                for part in 0..<4 {
                    let a = bytes8(block, ql + 8 * part), c = bytes8(block, ql + 32 + 8 * part), h = bytes8(block, qh + 8 * part)
                    let q1 = float8(((a & 0x0F) | ((h & 3) &<< 4)) &- 32)
                    let q2 = float8(((c & 0x0F) | (((h &>> 2) & 3) &<< 4)) &- 32)
                    let q3 = float8(((a &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32)
                    let q4 = float8(((c &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32)
                    let s = part / 2
                    total = total.addingProduct(q1 * load8(xh + 8 * part), scale(s))
                        .addingProduct(q2 * load8(xh + 32 + 8 * part), scale(s + 2))
                        .addingProduct(q3 * load8(xh + 64 + 8 * part), scale(s + 4))
                        .addingProduct(q4 * load8(xh + 96 + 8 * part), scale(s + 6))
                }
            }
        }
        return total.sum()
    }
}
