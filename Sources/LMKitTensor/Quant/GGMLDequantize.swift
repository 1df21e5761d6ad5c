/// Quantized GGUF blocks → floats, following ggml's reference `dequantize_row_*` functions
/// (`ggml-quants.c`) block for block. Scales are IEEE half floats; every layout below is the C struct
/// of `ggml-common.h`, packed.
public enum GGMLDequantize {
    /// Writes the `count` weights stored at `source` as `type` into `destination`.
    /// `count` must be a multiple of the type's block size and `source` must hold the blocks
    /// (``GGMLType/byteCount(elements:)`` bytes); the caller checks both.
    public static func dequantize(_ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(type.isSupported, "dequantize: \(type.name) is not supported")
        precondition(count % type.blockSize == 0, "dequantize: \(count) weights do not fill \(type.name) blocks of \(type.blockSize)")
        let blocks = count / type.blockSize
        Parallel.forRanges(blocks, minChunk: Swift.max(1, 16_384 / type.blockSize)) { range in
            dequantizeSerial(
                type, source + range.lowerBound * type.blockBytes, count: range.count * type.blockSize,
                into: destination + range.lowerBound * type.blockSize)
        }
    }

    /// ``dequantize(_:_:count:into:)`` on the calling thread (for callers that are already parallel).
    public static func dequantizeSerial(
        _ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        for b in 0..<(count / type.blockSize) {
            let x = source + b * type.blockBytes
            let y = destination + b * type.blockSize
            switch type {
            case .f32: y.pointee = x.loadUnaligned(as: Float.self)
            case .f16: y.pointee = Float(x.loadUnaligned(as: Float16.self))
            case .bf16: y.pointee = Float(bitPattern: UInt32(x.loadUnaligned(as: UInt16.self)) << 16)
            case .q4_0: q4_0(x, y)
            case .q4_1: q4_1(x, y)
            case .q5_0: q5_0(x, y)
            case .q5_1: q5_1(x, y)
            case .q8_0: q8_0(x, y)
            case .q4_K: q4_K(x, y)
            case .q5_K: q5_K(x, y)
            case .q6_K: q6_K(x, y)
            default: preconditionFailure("dequantize: \(type.name) is not supported")
            }
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// `{d: f16, qs[16]}`: weight j = (nibble − 8)·d; low nibbles are weights 0…15, high 16…31.
    static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        for j in 0..<16 {
            let q = byte(x, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    /// `{d: f16, m: f16, qs[16]}`: weight = nibble·d + m.
    static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        for j in 0..<16 {
            let q = byte(x, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// `{d: f16, qh: u32, qs[16]}`: 5-bit values (fifth bit from `qh`), minus 16, times d.
    static func q5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        let qh = x.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for j in 0..<16 {
            let q = byte(x, 6 + j)
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float(Int((q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
        }
    }

    /// `{d: f16, m: f16, qh: u32, qs[16]}`: 5-bit values times d, plus m.
    static func q5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        let qh = x.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        for j in 0..<16 {
            let q = byte(x, 8 + j)
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float((q & 0x0F) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        }
    }

    /// `{d: f16, qs[32]: i8}`: weight = q·d.
    static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        for j in 0..<32 { y[j] = Float(x.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// The 6-bit scale and min of sub-block `j` (0…7) packed in the 12 `scales` bytes of Q4_K/Q5_K.
    @inline(__always) static func scaleMin(_ j: Int, _ s: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 { return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63)) }
        let sc = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 6) << 4)
        let m = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// `{d: f16, dmin: f16, scales[12], qs[128]}`: 8 sub-blocks of 32 with 6-bit scales and mins;
    /// weight = d·scale·nibble − dmin·min.
    static func q4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), dmin = half(x, 2)
        let scales = x + 4, qs = x + 16
        for chunk in 0..<4 {
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let (d1, mm1, d2, mm2) = (d * sc1, dmin * m1, d * sc2, dmin * m2)
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                let v = byte(q, l)
                out[l] = d1 * Float(v & 0x0F) - mm1
                out[32 + l] = d2 * Float(v >> 4) - mm2
            }
        }
    }

    /// `{d: f16, dmin: f16, scales[12], qh[32], qs[128]}`: Q4_K with a fifth bit per weight in `qh`.
    static func q5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), dmin = half(x, 2)
        let scales = x + 4, qh = x + 16, qs = x + 48
        var u1: UInt8 = 1, u2: UInt8 = 2
        for chunk in 0..<4 {
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let (d1, mm1, d2, mm2) = (d * sc1, dmin * m1, d * sc2, dmin * m2)
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                let v = byte(q, l), h = byte(qh, l)
                out[l] = d1 * Float((v & 0x0F) + (h & u1 != 0 ? 16 : 0)) - mm1
                out[32 + l] = d2 * Float((v >> 4) + (h & u2 != 0 ? 16 : 0)) - mm2
            }
            u1 <<= 2; u2 <<= 2
        }
    }

    /// `{ql[128], qh[64], scales[16]: i8, d: f16}`: 6-bit values (low 4 bits in `ql`, high 2 in `qh`)
    /// minus 32, times d and a signed 8-bit scale per 16 weights.
    static func q6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 208)
        for half in 0..<2 {
            let ql = x + 64 * half, qh = x + 128 + 32 * half, sc = x + 192 + 8 * half
            let out = y + 128 * half
            for l in 0..<32 {
                let s = l / 16
                let a = byte(ql, l), b = byte(ql, l + 32), h = byte(qh, l)
                let q1 = Int((a & 0x0F) | ((h & 3) << 4)) - 32
                let q2 = Int((b & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((a >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((b >> 4) | (((h >> 6) & 3) << 4)) - 32
                func scale(_ k: Int) -> Float { d * Float(sc.load(fromByteOffset: k, as: Int8.self)) }
                out[l] = scale(s) * Float(q1)
                out[l + 32] = scale(s + 2) * Float(q2)
                out[l + 64] = scale(s + 4) * Float(q3)
                out[l + 96] = scale(s + 6) * Float(q4)
            }
        }
    }
}
