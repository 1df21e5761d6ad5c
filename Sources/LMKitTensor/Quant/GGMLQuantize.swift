// Float32 → ggml blocks, as ggml's reference quantizers (`quantize_row_*_ref` in ggml-quants.c) and
// gguf-py's `gguf.quants` compute them: the same scale per block, the same rounding, the same packing,
// so the bytes are equal. Float32 throughout, no fused multiply-add (gguf-py's numpy has none).

/// Writing ggml types: the float types, the legacy 32-weight block types and the k-quants.
public enum GGMLQuantizer {
    /// The types LMKit writes.
    public static let writable: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// The types an importance matrix changes (llama.cpp ignores it for the float types and Q8_0).
    public static let usesImportance: Set<GGMLType> = [.q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// `x` (row-major; each row's length a multiple of the type's block size) as the bytes of `type`.
    /// `importance`: an importance matrix's values for one row (its length is the row length), which
    /// weigh each column's error as llama-quantize's `--imatrix` does.
    public static func quantize(_ x: UnsafeBufferPointer<Float>, as type: GGMLType, importance: UnsafeBufferPointer<Float>? = nil)
        -> [UInt8]
    {
        precondition(writable.contains(type), "LMKit does not write \(type) blocks")
        precondition(x.count % type.blockSize == 0, "\(x.count) values do not fill \(type) blocks of \(type.blockSize)")
        let blocks = x.count / type.blockSize
        var out = [UInt8](repeating: 0, count: blocks * type.blockBytes)
        if let importance, usesImportance.contains(type) {
            let n = importance.count
            precondition(n > 0 && n % type.blockSize == 0 && x.count % n == 0, "an importance matrix of \(n) values for rows of \(type)")
            let rows = x.count / n, rowBytes = n / type.blockSize * type.blockBytes
            out.withUnsafeMutableBufferPointer { o in
                let src = x.baseAddress!, dst = o.baseAddress!, qw = importance.baseAddress!
                Parallel.forRanges(rows, minChunk: max(1, 16384 / n)) { range in
                    for r in range {
                        let xs = src + r * n, ys = UnsafeMutableRawPointer(dst + r * rowBytes)
                        if type.blockSize == 32 {
                            legacyRow(xs, n, as: type, importance: qw, into: ys)
                        } else {
                            for b in 0..<n / 256 { superBlock(xs + 256 * b, ys + b * type.blockBytes, type, importance: qw + 256 * b) }
                        }
                    }
                }
            }
            return out
        }
        out.withUnsafeMutableBufferPointer { o in
            let src = x.baseAddress!, dst = o.baseAddress!
            Parallel.forRanges(blocks, minChunk: type.blockSize == 256 ? 64 : 4096) { range in
                for b in range {
                    let xs = UnsafeBufferPointer(start: src + b * type.blockSize, count: type.blockSize)
                    let ys = UnsafeMutableRawPointer(dst + b * type.blockBytes)
                    switch type {
                    case .f32: ys.storeBytes(of: xs[0].bitPattern.littleEndian, as: UInt32.self)
                    case .f16: ys.storeBytes(of: Float16(xs[0]).bitPattern.littleEndian, as: UInt16.self)
                    case .bf16: ys.storeBytes(of: bfloat16(xs[0]).littleEndian, as: UInt16.self)
                    case .q8_0: q8_0(xs, ys)
                    case .q4_0: q4_0(xs, ys)
                    case .q4_1: q4_1(xs, ys)
                    case .q5_0: q5_0(xs, ys)
                    case .q5_1: q5_1(xs, ys)
                    default: superBlock(xs.baseAddress!, ys, type, importance: nil)
                    }
                }
            }
        }
        return out
    }

    /// One 256-weight super-block of a k-quant type.
    static func superBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ type: GGMLType, importance: UnsafePointer<Float>?) {
        switch type {
        case .q4_K: q4_K(x, y, importance: importance)
        case .q5_K: q5_K(x, y, importance: importance)
        case .q6_K: q6_K(x, y, importance: importance)
        default: preconditionFailure("\(type) is not a k-quant")
        }
    }

    /// Whether every value is finite (what a quantizer needs), checked on all cores.
    public static func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool {
        let chunk = 1 << 20, chunks = (x.count + chunk - 1) / chunk
        var finite = [Bool](repeating: true, count: chunks)
        finite.withUnsafeMutableBufferPointer { f in
            Parallel.forEach(chunks) { c in
                // Infinity and NaN have an all-ones exponent.
                for i in (c * chunk)..<min(x.count, (c + 1) * chunk) where x[i].bitPattern & 0x7f80_0000 == 0x7f80_0000 {
                    f[c] = false
                    break
                }
            }
        }
        return !finite.contains(false)
    }

    /// ggml's `GGML_FP32_TO_BF16`: NaN made quiet, otherwise rounded to nearest even.
    static func bfloat16(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16((u >> 16) | 64) }
        return UInt16((UInt64(u) + UInt64(0x7fff + ((u >> 16) & 1))) >> 16)
    }

    static func half(_ x: Float) -> UInt16 { Float16(x).bitPattern.littleEndian }

    /// The element of largest magnitude, with its sign (the first one on ties, as argmax).
    static func signedMax(_ x: UnsafeBufferPointer<Float>) -> Float {
        var m: Float = 0, a: Float = 0
        for v in x where abs(v) > a { (a, m) = (abs(v), v) }
        return m
    }

    static func inverse(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

    /// C's `(uint8_t)v` for the values quantizers make (0 … 32), capped at `top`; a NaN weight gives 0
    /// instead of a trap.
    @inline(__always) static func level(_ v: Float, _ top: UInt8) -> UInt8 {
        v >= 0 && v < 256 ? min(top, UInt8(v)) : (v >= 256 ? top : 0)
    }

    /// d = max|x| / 127, q = round(x / d) (half away from zero).
    static func q8_0(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        let d = amax / 127, id = inverse(d)
        y.storeBytes(of: half(d), as: UInt16.self)
        for j in 0..<32 {
            // Half away from zero: to nearest even through the mantissa (exact below 2²²), ties moved away.
            let s = x[j] * id, r = (s + 12_582_912) - 12_582_912
            let v = abs(s - r) == 0.5 ? s + (s < 0 ? -0.5 : 0.5) : r
            y.storeBytes(of: v.isNaN ? 0 : Int8(max(-128, min(127, v))), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// d = max / −8 (the signed extreme), q = min(15, trunc(x / d + 8.5)); nibbles j | j+16 << 4.
    static func q4_0(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableRawPointer) {
        let d = signedMax(x) / -8, id = inverse(d)
        y.storeBytes(of: half(d), as: UInt16.self)
        for j in 0..<16 {
            let a = level(x[j] * id + 8.5, 15), b = level(x[j + 16] * id + 8.5, 15)
            y.storeBytes(of: a | b << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// d = (max − min) / 15, m = min, q = min(15, trunc((x − min) / d + 0.5)).
    static func q4_1(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableRawPointer) {
        let lo = x.min()!, hi = x.max()!
        let d = (hi - lo) / 15, id = inverse(d)
        y.storeBytes(of: half(d), as: UInt16.self)
        y.storeBytes(of: half(lo), toByteOffset: 2, as: UInt16.self)
        for j in 0..<16 {
            let a = level((x[j] - lo) * id + 0.5, 15), b = level((x[j + 16] - lo) * id + 0.5, 15)
            y.storeBytes(of: a | b << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// d = max / −16, q = min(31, trunc(x / d + 16.5)); low nibbles as Q4_0, fifth bits in a u32.
    static func q5_0(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableRawPointer) {
        let d = signedMax(x) / -16, id = inverse(d)
        y.storeBytes(of: half(d), as: UInt16.self)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = level(x[j] * id + 16.5, 31), b = level(x[j + 16] * id + 16.5, 31)
            y.storeBytes(of: (a & 0x0F) | (b & 0x0F) << 4, toByteOffset: 6 + j, as: UInt8.self)
            qh |= UInt32(a >> 4) << j | UInt32(b >> 4) << (j + 16)
        }
        y.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// d = (max − min) / 31, m = min, q = min(31, trunc((x − min) / d + 0.5)).
    static func q5_1(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableRawPointer) {
        let lo = x.min()!, hi = x.max()!
        let d = (hi - lo) / 31, id = inverse(d)
        y.storeBytes(of: half(d), as: UInt16.self)
        y.storeBytes(of: half(lo), toByteOffset: 2, as: UInt16.self)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let a = level((x[j] - lo) * id + 0.5, 31), b = level((x[j + 16] - lo) * id + 0.5, 31)
            y.storeBytes(of: (a & 0x0F) | (b & 0x0F) << 4, toByteOffset: 8 + j, as: UInt8.self)
            qh |= UInt32(a >> 4) << j | UInt32(b >> 4) << (j + 16)
        }
        y.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
    }
}
