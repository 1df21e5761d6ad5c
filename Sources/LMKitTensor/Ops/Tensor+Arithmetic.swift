/// Element-wise arithmetic with NumPy broadcasting, and the element-wise functions.
extension Tensor {
    /// `self op other`, broadcasting both to a common shape.
    public func binary(_ op: BinaryOp, _ other: Tensor) -> Tensor {
        precondition(
            dtype == other.dtype && dtype.isComputable, "\(op): operand types \(dtype) and \(other.dtype) differ or are not computable")
        guard let outShape = Shape.broadcast(shape, other.shape) else {
            preconditionFailure("\(op): shapes \(shape) and \(other.shape) do not broadcast")
        }
        var out = Tensor.empty(outShape, dtype: dtype)
        let sa = Shape.broadcastStrides(shape: shape, strides: strides, to: outShape)
        let sb = Shape.broadcastStrides(shape: other.shape, strides: other.strides, to: outShape)
        func run<S: TensorScalar>(_: S.Type) {
            ElementwiseKernels.binary(
                op, shape: outShape, out: out.pointer(S.self), outStrides: out.strides,
                a: pointer(S.self), aStrides: sa, b: other.pointer(S.self), bStrides: sb)
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(&out, .binary(op, a: self.detached(), b: other.detached()), inputs: [self, other])
        return out
    }

    /// A rank-0 tensor of this tensor's type (for mixing tensors with numbers).
    func scalarLike(_ value: Double) -> Tensor { Tensor(value, dtype: dtype) }

    /// Element-wise sum, broadcasting both operands (same dtype required).
    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(.add, b) }
    /// Element-wise difference, broadcasting both operands (same dtype required).
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(.sub, b) }
    /// Element-wise product, broadcasting both operands (same dtype required).
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(.mul, b) }
    /// Element-wise quotient, broadcasting both operands (same dtype required).
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(.div, b) }
    /// Element-wise sum with a number, taken as a rank-0 tensor of `a`'s dtype.
    public static func + (a: Tensor, b: Double) -> Tensor { a.binary(.add, a.scalarLike(b)) }
    /// Element-wise difference with a number, taken as a rank-0 tensor of `a`'s dtype.
    public static func - (a: Tensor, b: Double) -> Tensor { a.binary(.sub, a.scalarLike(b)) }
    /// Element-wise product with a number, taken as a rank-0 tensor of `a`'s dtype.
    public static func * (a: Tensor, b: Double) -> Tensor { a.binary(.mul, a.scalarLike(b)) }
    /// Element-wise quotient with a number, taken as a rank-0 tensor of `a`'s dtype.
    public static func / (a: Tensor, b: Double) -> Tensor { a.binary(.div, a.scalarLike(b)) }
    /// Element-wise sum of a number and a tensor (the number as a rank-0 tensor of `b`'s dtype).
    public static func + (a: Double, b: Tensor) -> Tensor { b.scalarLike(a).binary(.add, b) }
    /// Element-wise difference of a number and a tensor (the number as a rank-0 tensor of `b`'s dtype).
    public static func - (a: Double, b: Tensor) -> Tensor { b.scalarLike(a).binary(.sub, b) }
    /// Element-wise product of a number and a tensor (the number as a rank-0 tensor of `b`'s dtype).
    public static func * (a: Double, b: Tensor) -> Tensor { b.scalarLike(a).binary(.mul, b) }
    /// Element-wise quotient of a number and a tensor (the number as a rank-0 tensor of `b`'s dtype).
    public static func / (a: Double, b: Tensor) -> Tensor { b.scalarLike(a).binary(.div, b) }
    /// Element-wise negation.
    public static prefix func - (a: Tensor) -> Tensor { a.unary(.neg) }

    /// Element-wise maximum.
    public func maximum(_ other: Tensor) -> Tensor { binary(.maximum, other) }
    /// Element-wise minimum.
    public func minimum(_ other: Tensor) -> Tensor { binary(.minimum, other) }

    /// `f(self)` element by element.
    public func unary(_ op: UnaryOp) -> Tensor {
        precondition(dtype.isComputable, "\(op) on a \(dtype) tensor: convert it to float32 first")
        let x = contiguous()
        var out = Tensor.empty(shape, dtype: dtype)
        func run<S: TensorScalar>(_: S.Type) {
            ElementwiseKernels.unary(op, x.pointer(S.self), out.pointer(S.self), count)
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        let savesOutput: Bool
        switch op {
        case .exp, .sigmoid, .tanh, .sqrt, .rsqrt: savesOutput = true
        default: savesOutput = false
        }
        let saved = out.detached()
        Tensor.record(&out, .unary(op, x: savesOutput ? nil : x.detached(), y: savesOutput ? saved : nil), inputs: [self])
        return out
    }

    /// eˣ element by element (the backward pass reuses the output).
    public func exp() -> Tensor { unary(.exp) }
    /// Natural logarithm element by element (NaN for negatives, −inf at 0).
    public func log() -> Tensor { unary(.log) }
    /// √x element by element.
    public func sqrt() -> Tensor { unary(.sqrt) }
    /// 1/√x element by element, in one kernel instead of `sqrt()` then a division.
    public func rsqrt() -> Tensor { unary(.rsqrt) }
    /// Hyperbolic tangent element by element, in (−1, 1).
    public func tanh() -> Tensor { unary(.tanh) }
    /// Logistic sigmoid σ(x) = 1/(1 + e⁻ˣ) element by element, in (0, 1).
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    /// max(x, 0) element by element (gradient 0 at x = 0).
    public func relu() -> Tensor { unary(.relu) }
    /// |x| element by element.
    public func abs() -> Tensor { unary(.abs) }
    /// x² element by element (what `pow(2)` computes).
    public func squared() -> Tensor { unary(.square) }
    /// Sine element by element (x in radians).
    public func sin() -> Tensor { unary(.sin) }
    /// Cosine element by element (x in radians).
    public func cos() -> Tensor { unary(.cos) }
    /// SiLU (swish): x·σ(x).
    public func silu() -> Tensor { unary(.silu) }

    /// GELU; `approximate: true` is the tanh form GPT-2 uses, `false` the exact erf form BERT uses.
    public func gelu(approximate: Bool = true) -> Tensor { unary(approximate ? .geluTanh : .geluErf) }

    /// `self` raised to a constant power.
    public func pow(_ exponent: Double) -> Tensor {
        if exponent == 2 { return squared() }
        precondition(dtype.isComputable, "pow on a \(dtype) tensor")
        let x = contiguous()
        var out = Tensor.empty(shape, dtype: dtype)
        func run<S: TensorScalar>(_: S.Type) {
            let e = S(exponent)
            ElementwiseKernels.scalarMap(x.pointer(S.self), out.pointer(S.self), count) { S.pow($0, e) }
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(&out, .pow(x: x.detached(), exponent: exponent), inputs: [self])
        return out
    }

    /// Adds `other` into this tensor's storage (same shape; `other` may be strided). Used for
    /// gradient accumulation, where the tensor owns its storage; not recorded.
    mutating func addInPlace(_ other: Tensor) {
        precondition(other.shape == shape, "addInPlace: \(other.shape) into \(shape)")
        if !isContiguous || !isKnownUniquelyReferenced(&storage) {
            self = (self.detached() + other.detached()).detached()
            return
        }
        let o = other.dtype == dtype ? other : other.converted(to: dtype)
        func run<S: TensorScalar>(_: S.Type) {
            ElementwiseKernels.binary(
                .add, shape: shape, out: pointer(S.self), outStrides: strides,
                a: pointer(S.self), aStrides: strides, b: o.pointer(S.self), bStrides: o.strides)
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    }

    /// The same values in another element type (float types are differentiable through this).
    public func converted(to target: DType) -> Tensor {
        if target == dtype { return self }
        precondition(target.isComputable, "converted(to: \(target)): only float32 and float64 are computable targets")
        let src = contiguous()
        var out = Tensor.empty(shape, dtype: target)
        let n = count
        let raw = UnsafeRawPointer(src.storage.base) + src.offset * dtype.byteSize
        func fill<S: TensorScalar>(_: S.Type) {
            let o = out.pointer(S.self)
            switch dtype {
            case .float32: for i in 0..<n { o[i] = S(raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)) }
            case .float64: for i in 0..<n { o[i] = S(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            case .float16: for i in 0..<n { o[i] = S(Float(raw.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))) }
            case .bfloat16:
                for i in 0..<n {
                    let bits = UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                    o[i] = S(Float(bitPattern: bits))
                }
            case .int64: for i in 0..<n { o[i] = S(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            case .int32: for i in 0..<n { o[i] = S(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .int16: for i in 0..<n { o[i] = S(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .int8: for i in 0..<n { o[i] = S(raw.load(fromByteOffset: i, as: Int8.self)) }
            case .uint8, .bool: for i in 0..<n { o[i] = S(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
        if target == .float32 { fill(Float.self) } else { fill(Double.self) }
        if dtype.isComputable { Tensor.record(&out, .convert(from: dtype), inputs: [self]) }
        return out
    }
}
