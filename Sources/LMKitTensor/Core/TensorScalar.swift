import RealModule

/// A floating-point type the engine computes with: `Float` for work, `Double` for gradient checks.
///
/// Kernels are written once over `SIMD8<Self>` (one AVX2 register of floats) and specialized for both types. The one thing that
/// differs is the vector exponential: `Float` uses a Cephes-style polynomial (all lanes at once),
/// `Double` calls libm per lane, which is exact enough for finite-difference checks and fast enough
/// for the small tensors they use.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Codable, Sendable {
    /// The storage type tag of this Swift type.
    static var dtype: DType { get }
    /// `exp` on 8 lanes.
    static func exp8(_ x: SIMD8<Self>) -> SIMD8<Self>
    /// Lane-wise maximum and minimum (`pointwiseMax/Min` are sometimes compiled to per-lane loops).
    static func max8(_ a: SIMD8<Self>, _ b: SIMD8<Self>) -> SIMD8<Self>
    static func min8(_ a: SIMD8<Self>, _ b: SIMD8<Self>) -> SIMD8<Self>
    /// |x| on 8 lanes.
    static func abs8(_ x: SIMD8<Self>) -> SIMD8<Self>
    /// +1 where x ≥ +0, −1 where x is negative (the sign bit), on 8 lanes.
    static func sign8(_ x: SIMD8<Self>) -> SIMD8<Self>
}

extension Float: TensorScalar {
    /// `Float` tensors are stored as ``DType/float32``.
    public static var dtype: DType { .float32 }

    /// exp(x) within ~2 ulp for x in [-87.3, 88]; inputs outside are clamped (results 1.6e-38 … 1.65e38).
    /// Cephes' expf: x = n·ln2 + r, exp(r) by a degree-6 polynomial (FMA Horner steps), 2ⁿ built
    /// in the exponent bits.
    @inline(__always)
    public static func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let x = min8(max8(input, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.0))
        // n = round(x / ln 2) via the 1.5·2²³ trick: the integer lands in the low mantissa bits of t.
        let magic: Float = 12_582_912
        let t = SIMD8<Float>(repeating: magic).addingProduct(x, SIMD8(repeating: 1.442_695_04))
        let n = t - magic
        let r = x.addingProduct(n, SIMD8(repeating: -0.693_359_375)).addingProduct(n, SIMD8(repeating: 2.121_944_4e-4))
        var p = SIMD8<Float>(repeating: 1.398_199_95e-3).addingProduct(SIMD8(repeating: 1.987_569_15e-4), r)
        p = SIMD8<Float>(repeating: 8.333_451_9e-3).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 4.166_579_59e-2).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1.666_666_55e-1).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 5.000_000_12e-1).addingProduct(p, r)
        p = (r + 1).addingProduct(p, r * r)
        let k = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// Lane-wise maximum as one compare and blend: `b` where `b > a`, else `a` (a NaN in `a` is kept, one in `b` is not).
    @inline(__always)
    public static func max8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }

    /// Lane-wise minimum as one compare and blend: `b` where `b < a`, else `a` (a NaN in `a` is kept, one in `b` is not).
    @inline(__always)
    public static func min8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .< a) }

    /// |x| on 8 lanes by clearing the sign bit (−0 becomes +0).
    @inline(__always)
    public static func abs8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }

    /// ±1 on 8 lanes from the sign bit alone: the bit is copied onto 1.0, so −0 gives −1.
    @inline(__always)
    public static func sign8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let signBit = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(signBit | 0x3F80_0000, to: SIMD8<Float>.self)
    }
}

extension Double: TensorScalar {
    /// `Double` tensors are stored as ``DType/float64``.
    public static var dtype: DType { .float64 }

    /// exp on 8 lanes through libm, one lane at a time (accurate, not vectorized).
    @inline(__always)
    public static func exp8(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var out = SIMD8<Double>()
        for i in 0..<8 { out[i] = Double.exp(x[i]) }
        return out
    }

    // Double is the checking type: clarity over speed.
    /// Lane-wise maximum: `b` where `b > a`, else `a`.
    public static func max8(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { a.replacing(with: b, where: b .> a) }
    /// Lane-wise minimum: `b` where `b < a`, else `a`.
    public static func min8(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { a.replacing(with: b, where: b .< a) }
    /// |x| on 8 lanes by negating the negative lanes (−0 stays −0).
    public static func abs8(_ x: SIMD8<Double>) -> SIMD8<Double> { x.replacing(with: -x, where: x .< 0) }
    /// ±1 on 8 lanes: −1 where the sign is minus (−0 included), else +1.
    public static func sign8(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var out = SIMD8<Double>(repeating: 1)
        for i in 0..<8 where x[i].sign == .minus { out[i] = -1 }
        return out
    }
}

// MARK: - Vector helpers shared by the kernels

@inline(__always)
func load8<S: TensorScalar>(_ p: UnsafePointer<S>) -> SIMD8<S> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<S>.self)
}

@inline(__always)
func store8<S: TensorScalar>(_ v: SIMD8<S>, _ p: UnsafeMutablePointer<S>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<S>.self)
}

/// The first `count` (< 8) elements at `p`, zero-padded.
@inline(__always)
func loadPartial8<S: TensorScalar>(_ p: UnsafePointer<S>, _ count: Int, padding: S = 0) -> SIMD8<S> {
    var v = SIMD8<S>(repeating: padding)
    for i in 0..<count { v[i] = p[i] }
    return v
}

@inline(__always)
func storePartial8<S: TensorScalar>(_ v: SIMD8<S>, _ p: UnsafeMutablePointer<S>, _ count: Int) {
    for i in 0..<count { p[i] = v[i] }
}

/// Vector math built on ``TensorScalar/exp8(_:)``, shared by forward and backward kernels.
enum VMath {
    @inline(__always)
    static func sigmoid<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> {
        1 / (1 + S.exp8(-x))
    }

    static let sqrt2OverPi = 0.797_884_560_802_865_4
    static let geluCubic = 0.044_715

    /// GELU, tanh form: 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³).
    @inline(__always)
    static func geluTanh<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> {
        let u = S(sqrt2OverPi) * x.addingProduct(S(geluCubic) * x * x, x)
        return x / (1 + S.exp8(-2 * u))
    }

    /// d/dx of ``geluTanh(_:)``: σ + x·2σ(1−σ)·u′.
    @inline(__always)
    static func geluTanhDerivative<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> {
        let x2 = x * x
        let u = S(sqrt2OverPi) * (x + S(geluCubic) * x2 * x)
        let du = S(sqrt2OverPi) * (1 + S(3 * geluCubic) * x2)
        let s = sigmoid(2 * u)
        return s + x * 2 * s * (1 - s) * du
    }

    /// Φ(x), the standard normal CDF, from the Numerical Recipes erfc (relative error < 1.2e-7).
    @inline(__always)
    static func normalCDF<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> {
        let az = S.abs8(x * S(0.707_106_781_186_547_6))
        let t = 1 / (1 + 0.5 * az)
        @inline(__always) func step(_ c: Double, _ p: SIMD8<S>) -> SIMD8<S> { SIMD8<S>(repeating: S(c)).addingProduct(p, t) }
        var p = step(-0.822_152_23, SIMD8(repeating: S(0.170_872_77)))
        p = step(1.488_515_87, p)
        p = step(-1.135_203_98, p)
        p = step(0.278_868_07, p)
        p = step(-0.186_288_06, p)
        p = step(0.096_784_18, p)
        p = step(0.374_091_96, p)
        p = step(1.000_023_68, p)
        p = step(-1.265_512_23, p)
        let half = 0.5 * t * S.exp8(-az * az + p)  // ½·erfc(|z|)
        return 0.5 + S.sign8(x) * (0.5 - half)
    }

    /// GELU, exact form: x·Φ(x).
    @inline(__always)
    static func geluErf<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { x * normalCDF(x) }

    /// d/dx of ``geluErf(_:)``: Φ(x) + x·φ(x).
    @inline(__always)
    static func geluErfDerivative<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> {
        let pdf = S(0.398_942_280_401_432_7) * S.exp8(-0.5 * x * x)
        return normalCDF(x) + x * pdf
    }
}
