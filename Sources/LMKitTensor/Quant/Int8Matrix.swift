import CLMKitKernels

/// A weight matrix quantized to int8 for dynamic quantization, PyTorch's
/// `torch.ao.quantization.quantize_dynamic` of a `nn.Linear` (x86 / fbgemm engine), and multiplied
/// in integers.
///
/// - Weights: signed bytes, `scale = max|w| / 127.5` over the matrix (``Scheme/tensor``) or over each
///   row (``Scheme/channel``, ``Scheme/token``), zero point 0, `q = clamp(round(w / scale), −128, 127)`
///   (half to even).
/// - Activations, per call ("dynamic"): the range [min(0, min x), max(0, max x)] mapped onto 0…127
///   (7 bits, PyTorch's `reduce_range` on x86) over the whole input, or onto 0…255 per row
///   (``Scheme/token``), with the scale and zero point fbgemm's `ChooseQuantizationParams` chooses.
/// - Product: `y = sx·sw·(Σ xq·wq − zx·Σ wq) + b`, the sums in 32-bit integers (AVX-512 VNNI or
///   AVX2 kernels of `CLMKitKernels`, a portable loop elsewhere); bias and output stay float32.
///
/// Only the matrix products change; the rest of a model (layer norms, softmax, GELU) stays float32.
/// No gradient flows through it: it serves inference.
public final class Int8Matrix: @unchecked Sendable {
    /// How finely weights and activations are scaled.
    public enum Scheme: String, CaseIterable, Sendable, Codable {
        /// PyTorch's default (`default_dynamic_qconfig`): one scale per weight matrix, one 7-bit
        /// activation range per call.
        case tensor
        /// PyTorch's `per_channel_dynamic_qconfig`: a scale per weight row, one 7-bit activation range
        /// per call.
        case channel
        /// A scale per weight row and an 8-bit range per activation row (token): outlier tokens and
        /// padding no longer set every row's step. Not in PyTorch's eager API; LMKit's default, the one
        /// that keeps MiniLM's embeddings at cosine ≥ 0.99 (the others lose more, see the benchmark).
        case token

        /// The largest activation byte.
        var activationMax: Int32 { self == .token ? 255 : 127 }
    }

    /// How the matrix and its inputs are scaled.
    public let scheme: Scheme
    /// Output features (the weight's rows).
    public let rows: Int
    /// Input features (the weight's columns).
    public let columns: Int
    /// The weight scale of each row (all equal under ``Scheme/tensor``): w ≈ scale · q.
    public let scales: [Float]
    /// The rows in the kernels' panels (`lmk_i8_pack`).
    let packed: [Int8]
    /// Each row's sum of quantized weights (the zero point's correction).
    let rowSums: [Int32]

    /// Quantizes `weight: [out, in]`.
    public init(_ weight: Tensor, scheme: Scheme = .token) {
        precondition(weight.rank == 2, "Int8Matrix: the weight must be [out, in], not \(weight.shape)")
        let w = weight.dtype == .float32 ? weight.contiguous() : weight.converted(to: .float32)
        (rows, columns) = (w.shape[0], w.shape[1])
        self.scheme = scheme
        let values = w.scalars(as: Float.self)
        func maxMagnitude(_ range: Range<Int>) -> Float {
            var low: Float = 0, high: Float = 0
            for v in values[range] {
                low = Swift.min(low, v)
                high = Swift.max(high, v)
            }
            return Swift.max(-low, high)
        }
        let (rows, columns) = (rows, columns)
        scales =
            scheme == .tensor
            ? [Float](repeating: Self.weightScale(maxMagnitude: maxMagnitude(0..<values.count)), count: rows)
            : (0..<rows).map { Self.weightScale(maxMagnitude: maxMagnitude($0 * columns..<($0 + 1) * columns)) }
        var q = [Int8](repeating: 0, count: values.count)
        for r in 0..<rows {
            let inverse = 1 / scales[r]
            for c in 0..<columns {
                let v = (values[r * columns + c] * inverse).rounded(.toNearestOrEven)
                q[r * columns + c] = Int8(Swift.max(-128, Swift.min(127, v.isNaN ? 0 : v)))
            }
        }
        var packed = [Int8](repeating: 0, count: lmk_i8_packed_bytes(Int64(rows), Int64(columns)))
        var sums = [Int32](repeating: 0, count: rows)
        lmk_i8_pack(q, Int64(rows), Int64(columns), &packed, &sums)
        self.packed = packed
        rowSums = sums
    }

    /// PyTorch's symmetric scale for weights whose largest magnitude is `maxMagnitude`:
    /// `max(maxMagnitude / 127.5, ε)` in float32 (ε: float32's machine epsilon).
    public static func weightScale(maxMagnitude: Float) -> Float {
        Swift.max(maxMagnitude / 127.5, Float.ulpOfOne)
    }

    /// An activation quantizer: x ≈ scale · (q − zeroPoint).
    public struct ActivationParameters: Equatable, Sendable {
        public let scale: Float
        public let zeroPoint: Int32

        public init(scale: Float, zeroPoint: Int32) {
            self.scale = scale
            self.zeroPoint = zeroPoint
        }
    }

    /// The scale and zero point fbgemm chooses for the range `min…max` on 0…`qmax`
    /// (`ChooseQuantizationParams`; PyTorch's x86 dynamic linear uses qmax 127).
    public static func activationParameters(min: Float, max: Float, qmax: Int32 = 127) -> ActivationParameters {
        var scale: Float = 0
        var zero: Int32 = 0
        lmk_i8_choose_params(min, max, qmax, &scale, &zero)
        return ActivationParameters(scale: scale, zeroPoint: zero)
    }

    /// The quantized weights `[rows × columns]`, row after row (PyTorch's `int_repr()`).
    public func quantizedWeights() -> [Int8] {
        let groups = (columns + 3) / 4
        var out = [Int8](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let panel = (r / 16) * 16 * groups * 4
            for c in 0..<columns { out[r * columns + c] = packed[panel + (c / 4) * 64 + (r % 16) * 4 + c % 4] }
        }
        return out
    }

    /// Bytes the quantized weight takes as PyTorch saves it: one per weight, plus its scales.
    public var byteCount: Int { rows * columns + 4 * (scheme == .tensor ? 1 : rows) }

    /// The instruction set of the kernels (as ``QuantizedMatrix/isa``: `LMKIT_ISA` can lower it).
    public static var isa: Int32 { QuantizedMatrix.isa }

    /// `x: [..., columns]` → `[..., rows]`: `x·Wᵀ + bias` with `x` quantized on the fly as the
    /// scheme says. `isa` overrides the instruction set (tests run each one).
    public func linear(_ x: Tensor, bias: Tensor?, isa: Int32? = nil) -> Tensor {
        precondition(x.size(-1) == columns, "int8 linear: input \(x.shape) does not fit \(rows)×\(columns)")
        precondition(bias == nil || bias!.shape == [rows], "int8 linear: bias \(bias!.shape) for \(rows) outputs")
        let (rows, columns, scheme) = (self.rows, self.columns, self.scheme)
        let xc = x.dtype == .float32 ? x.contiguous() : x.converted(to: .float32)
        let b = bias.map { $0.dtype == .float32 ? $0.contiguous() : $0.converted(to: .float32) }
        let m = xc.count / Swift.max(columns, 1)
        let out = Tensor.empty(Array(x.shape.dropLast()) + [rows], dtype: .float32)
        if m == 0 || rows == 0 { return out }
        let xp = UnsafePointer(xc.pointer(Float.self)), yp = out.pointer(Float.self)
        let ldq = (columns + 3) / 4 * 4
        let xq = UnsafeMutablePointer<UInt8>.allocate(capacity: m * ldq)
        let xScales = UnsafeMutablePointer<Float>.allocate(capacity: m)
        let xZeros = UnsafeMutablePointer<Int32>.allocate(capacity: m)
        defer { xq.deallocate(); xScales.deallocate(); xZeros.deallocate() }
        if scheme != .token {
            var low: Float = 0, high: Float = 0
            lmk_i8_minmax(xp, Int64(xc.count), &low, &high)
            let a = Self.activationParameters(min: low, max: high, qmax: scheme.activationMax)
            xScales.initialize(repeating: a.scale, count: m)
            xZeros.initialize(repeating: a.zeroPoint, count: m)
        }
        Parallel.forRanges(m, minChunk: Swift.max(1, 65_536 / Swift.max(columns, 1))) { range in
            let i = range.lowerBound
            lmk_i8_quantize_rows(
                xp + i * columns, Int64(range.count), Int64(columns), Int64(ldq), scheme.activationMax,
                scheme == .token ? 1 : 0, xScales + i, xZeros + i, xq + i * ldq)
        }
        let panels = (rows + 15) / 16
        let isa = isa ?? Self.isa
        packed.withUnsafeBufferPointer { w in
            rowSums.withUnsafeBufferPointer { sums in
                scales.withUnsafeBufferPointer { wScales in
                    let operands = lmk_i8_operands(
                        x: xq, m: Int64(m), ldx: Int64(ldq), x_scales: xScales, x_zeros: xZeros, packed: w.baseAddress!,
                        n: Int64(rows), k: Int64(columns), row_sums: sums.baseAddress!, w_scales: wScales.baseAddress!,
                        bias: b.map { UnsafePointer($0.pointer(Float.self)) }, y: yp, ldy: Int64(rows))
                    withUnsafePointer(to: operands) { o in
                        Parallel.forRanges(panels, minChunk: Swift.max(1, 262_144 / Swift.max(1, m * ldq * 16))) { range in
                            lmk_i8_gemm(o, Int64(range.lowerBound), Int64(range.upperBound), isa)
                        }
                    }
                }
            }
        }
        return withExtendedLifetime((xc, b)) { out }
    }
}
