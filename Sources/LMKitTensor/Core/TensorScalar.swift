import RealModule

/// A floating-point type the engine computes with: `Float` for work, `Double` for gradient checks.
///
/// Kernels are written once over `SIMD16<Self>` and specialized for both types. The one thing that
/// differs is the vector exponential: `Float` uses a Cephes-style polynomial (all lanes at once),
/// `Double` calls libm per lane, which is exact enough for finite-difference checks and fast enough
/// for the small tensors they use.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Codable, Sendable {
    /// The storage type tag of this Swift type.
    static var dtype: DType { get }
    /// `exp` on 16 lanes.
    static func exp16(_ x: SIMD16<Self>) -> SIMD16<Self>
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }

    /// exp(x) within ~2 ulp for x in [-87.3, 88]; inputs outside are clamped (results 1.6e-38 … 1.65e38).
    @inline(__always)
    public static func exp16(_ input: SIMD16<Float>) -> SIMD16<Float> {
        let x = pointwiseMin(pointwiseMax(input, SIMD16(repeating: -87.3)), SIMD16(repeating: 88.0))
        // n = round(x / ln 2) via the 1.5·2^23 trick: the integer lands in the low mantissa bits of t.
        let magic: Float = 12_582_912
        let t = x * 1.442_695_04 + magic
        let n = t - magic
        let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let k = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD16<Float>.self)
        return p * scale
    }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }

    @inline(__always)
    public static func exp16(_ x: SIMD16<Double>) -> SIMD16<Double> {
        var out = SIMD16<Double>()
        for i in 0..<16 { out[i] = Double.exp(x[i]) }
        return out
    }
}

// MARK: - Vector helpers shared by the kernels

@inline(__always)
func load16<S: TensorScalar>(_ p: UnsafePointer<S>) -> SIMD16<S> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<S>.self)
}

@inline(__always)
func store16<S: TensorScalar>(_ v: SIMD16<S>, _ p: UnsafeMutablePointer<S>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<S>.self)
}

/// The first `count` (< 16) elements at `p`, zero-padded.
@inline(__always)
func loadPartial16<S: TensorScalar>(_ p: UnsafePointer<S>, _ count: Int, padding: S = 0) -> SIMD16<S> {
    var v = SIMD16<S>(repeating: padding)
    for i in 0..<count { v[i] = p[i] }
    return v
}

@inline(__always)
func storePartial16<S: TensorScalar>(_ v: SIMD16<S>, _ p: UnsafeMutablePointer<S>, _ count: Int) {
    for i in 0..<count { p[i] = v[i] }
}

/// Vector math built on ``TensorScalar/exp16(_:)``, shared by forward and backward kernels.
enum VMath {
    @inline(__always)
    static func sigmoid<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
        1 / (1 + S.exp16(-x))
    }

    static let sqrt2OverPi = 0.797_884_560_802_865_4
    static let geluCubic = 0.044_715

    /// GELU, tanh form: 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³).
    @inline(__always)
    static func geluTanh<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
        let u = S(sqrt2OverPi) * (x + S(geluCubic) * x * x * x)
        return x * sigmoid(2 * u)
    }

    /// d/dx of ``geluTanh(_:)``: σ + x·2σ(1−σ)·u′.
    @inline(__always)
    static func geluTanhDerivative<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
        let x2 = x * x
        let u = S(sqrt2OverPi) * (x + S(geluCubic) * x2 * x)
        let du = S(sqrt2OverPi) * (1 + S(3 * geluCubic) * x2)
        let s = sigmoid(2 * u)
        return s + x * 2 * s * (1 - s) * du
    }

    /// Φ(x), the standard normal CDF, from the Numerical Recipes erfc (relative error < 1.2e-7).
    @inline(__always)
    static func normalCDF<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
        let z = x * S(0.707_106_781_186_547_6)
        var az = z
        for i in 0..<16 { az[i] = Swift.abs(z[i]) }
        let t = 1 / (1 + 0.5 * az)
        var p = SIMD16<S>(repeating: S(0.170_872_77))
        p = p * t + S(-0.822_152_23)
        p = p * t + S(1.488_515_87)
        p = p * t + S(-1.135_203_98)
        p = p * t + S(0.278_868_07)
        p = p * t + S(-0.186_288_06)
        p = p * t + S(0.096_784_18)
        p = p * t + S(0.374_091_96)
        p = p * t + S(1.000_023_68)
        p = p * t + S(-1.265_512_23)
        let half = 0.5 * t * S.exp16(-az * az + p)  // ½·erfc(|z|)
        var sign = SIMD16<S>(repeating: 1)
        for i in 0..<16 where x[i] < 0 { sign[i] = -1 }
        return 0.5 + sign * (0.5 - half)
    }

    /// GELU, exact form: x·Φ(x).
    @inline(__always)
    static func geluErf<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> { x * normalCDF(x) }

    /// d/dx of ``geluErf(_:)``: Φ(x) + x·φ(x).
    @inline(__always)
    static func geluErfDerivative<S: TensorScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
        let pdf = S(0.398_942_280_401_432_7) * S.exp16(-0.5 * x * x)
        return normalCDF(x) + x * pdf
    }

    /// Sum of the 16 lanes.
    @inline(__always)
    static func sum<S: TensorScalar>(_ v: SIMD16<S>) -> S { v.sum() }
}
